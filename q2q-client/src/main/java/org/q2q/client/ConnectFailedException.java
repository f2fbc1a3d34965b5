package org.q2q.client;

/**
 * {@link Q2qClient#connect} failed. The message names the address, the service and, when
 * connection methods were tried, each method's failure (those are also attached as suppressed
 * exceptions). {@link #reason()}: {@code NOT_FOUND} (nobody listens for the service there),
 * {@code PERMISSION} (the listener declined us), {@code TRUST} (an identity could not be
 * verified), {@code UNREACHABLE} (no method worked, or the timeout passed), {@code INVALID} (a bad
 * service name or address), {@code LOCAL} (the client is closed).
 */
public final class ConnectFailedException extends Q2qException {
  private static final long serialVersionUID = 1L;

  public ConnectFailedException(Reason reason, String message) {
    super(reason, message);
  }

  public ConnectFailedException(Reason reason, String message, Throwable cause) {
    super(reason, message, cause);
  }
}
