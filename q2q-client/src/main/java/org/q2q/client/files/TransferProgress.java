package org.q2q.client.files;

/** Progress of one transfer as a whole; called on the transferring thread, often (keep it cheap). */
@FunctionalInterface
public interface TransferProgress {
  /** Ignores progress. */
  TransferProgress NONE = (done, total) -> {};

  /**
   * Once the receiver accepted, before the first byte of data.
   *
   * @param total bytes of all files in the transfer
   * @param skipped bytes of them the receiver already held (resumed, not sent again)
   */
  default void started(long total, long skipped) {}

  /**
   * @param done bytes of the transfer done so far, skipped ones included
   * @param total bytes of all files in the transfer
   */
  void update(long done, long total);
}
