package org.q2q.client.files;

/** Progress of one file transfer; called on the transferring thread, often (keep it cheap). */
@FunctionalInterface
public interface TransferProgress {
  /** Ignores progress. */
  TransferProgress NONE = (done, total) -> {};

  /**
   * @param done bytes of the file transferred so far
   * @param total the file's size
   */
  void update(long done, long total);
}
