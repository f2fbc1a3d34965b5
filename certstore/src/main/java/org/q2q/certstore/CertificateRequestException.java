package org.q2q.certstore;

/** A certification request the CA will not sign; the message says why (safe to show the caller). */
public final class CertificateRequestException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Kinds of refusal, so a server can map them to status codes. */
  public enum Kind {
    /** The request is malformed or its signature does not verify. */
    MALFORMED,
    /** The request names an address this CA or account may not have. */
    NOT_PERMITTED
  }

  private final Kind kind;

  public CertificateRequestException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  /** The kind of refusal. */
  public Kind kind() {
    return kind;
  }
}
