package org.q2q.certstore;

/** A domain presented a CA other than the pinned (or expected) one: possible interception. */
public final class CaMismatchException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient Fingerprint expected;
  private final transient Fingerprint actual;

  public CaMismatchException(String domain, Fingerprint expected, Fingerprint actual, boolean pinned) {
    super((pinned ? "the CA of " + domain + " has CHANGED since it was pinned"
            : "the CA of " + domain + " does not have the expected fingerprint")
        + ": expected " + expected + " but the server presented " + actual
        + (pinned ? " (if the domain really re-created its CA, remove the pin and verify the new fingerprint out of band)" : ""));
    this.expected = expected;
    this.actual = actual;
  }

  /** The pinned or expected fingerprint. */
  public Fingerprint expected() {
    return expected;
  }

  /** The fingerprint presented. */
  public Fingerprint actual() {
    return actual;
  }
}
