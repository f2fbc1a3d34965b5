package org.q2q.client.files;

import java.io.IOException;

/** A file transfer failed; the message says why in words fit for users (e.g. the receiver's reason). */
public final class FileTransferException extends IOException {
  private static final long serialVersionUID = 1L;

  private final boolean refusedByPeer;

  public FileTransferException(String message, boolean refusedByPeer) {
    super(message);
    this.refusedByPeer = refusedByPeer;
  }

  public FileTransferException(String message, Throwable cause) {
    super(message, cause);
    this.refusedByPeer = false;
  }

  /** True if the other side refused or failed the file (it said why), false for local or transport failures. */
  public boolean refusedByPeer() {
    return refusedByPeer;
  }
}
