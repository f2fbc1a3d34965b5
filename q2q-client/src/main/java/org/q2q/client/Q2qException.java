package org.q2q.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.security.cert.CertificateException;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * A failure of a q2q operation, with a message a user understands ("wrong password for
 * alice@localhost", "server 127.0.0.1:8788 is not reachable: connection refused") and a
 * {@link Reason} programs and the command line map to exit codes.
 */
public class Q2qException extends java.io.IOException {
  private static final long serialVersionUID = 1L;

  /** Why an operation failed. */
  public enum Reason {
    /** The server could not be reached or did not answer in time. */
    UNREACHABLE,
    /** Wrong password, unknown account, or a certificate the server does not accept. */
    AUTHENTICATION,
    /** The server refused: not allowed for this caller (e.g. another domain's address). */
    PERMISSION,
    /** Too many attempts; the message says when to try again. */
    RATE_LIMITED,
    /** The request was invalid (bad address, bad certification request). */
    INVALID,
    /** The thing asked about does not exist there (e.g. a domain the server does not serve). */
    NOT_FOUND,
    /** The server's or a peer's certificate is not trusted (CA changed, wrong issuer). */
    TRUST,
    /** Local files (the client home) could not be read or written. */
    LOCAL,
    /** The server answered something unexpected. */
    PROTOCOL
  }

  private final Reason reason;

  public Q2qException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Q2qException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** Why it failed. */
  public Reason reason() {
    return reason;
  }

  /**
   * The exception for a failed gRPC call to {@code server}.
   *
   * @param what what was being done, for the message when the server gave no description
   */
  public static Q2qException fromStatus(StatusRuntimeException e, ServerAddress server, String what) {
    Status s = e.getStatus();
    String desc = s.getDescription();
    switch (s.getCode()) {
      case UNAVAILABLE:
        return unreachable(e, server);
      case DEADLINE_EXCEEDED:
        return new Q2qException(Reason.UNREACHABLE,
            "server " + server + " did not answer in time (" + what + ")", e);
      case UNAUTHENTICATED:
        return new Q2qException(Reason.AUTHENTICATION, orElse(desc, what + ": not authenticated"), e);
      case PERMISSION_DENIED:
        return new Q2qException(Reason.PERMISSION, orElse(desc, what + ": permission denied"), e);
      case RESOURCE_EXHAUSTED:
        return new Q2qException(Reason.RATE_LIMITED, orElse(desc, what + ": too many attempts, try later"), e);
      case INVALID_ARGUMENT:
        return new Q2qException(Reason.INVALID, orElse(desc, what + ": invalid request"), e);
      case NOT_FOUND:
        return new Q2qException(Reason.NOT_FOUND, orElse(desc, what + ": not found"), e);
      default:
        return new Q2qException(Reason.PROTOCOL,
            "server " + server + " failed " + what + ": " + s.getCode() + (desc == null ? "" : " " + desc), e);
    }
  }

  private static Q2qException unreachable(StatusRuntimeException e, ServerAddress server) {
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      if (c instanceof CertificateException) {
        return new Q2qException(Reason.TRUST, "the server at " + server + " is not trusted: " + c.getMessage(), e);
      }
    }
    for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
      if (c instanceof javax.net.ssl.SSLHandshakeException) {
        return new Q2qException(Reason.TRUST,
            "TLS handshake with " + server + " failed: " + shorten(rootMessage(c)), e);
      }
      if (c instanceof ConnectException) {
        return new Q2qException(Reason.UNREACHABLE,
            "server " + server + " is not reachable: " + connectMessage(c), e);
      }
      if (c instanceof UnknownHostException || c instanceof UnresolvedAddressException) {
        return new Q2qException(Reason.UNREACHABLE,
            "server " + server + " is not reachable: unknown host " + server.host(), e);
      }
      if (c instanceof NoRouteToHostException) {
        return new Q2qException(Reason.UNREACHABLE, "server " + server + " is not reachable: no route to host", e);
      }
      if (c instanceof SSLException) {
        String m = rootMessage(c);
        if (m.startsWith("not an SSL/TLS record")) {
          m = "it does not speak TLS"; // Netty appends a hex dump of whatever came back
        }
        return new Q2qException(Reason.UNREACHABLE,
            "server " + server + " is not reachable over TLS (is it a q2q server?): " + shorten(m), e);
      }
    }
    String desc = e.getStatus().getDescription();
    return new Q2qException(Reason.UNREACHABLE,
        "server " + server + " is not reachable" + (desc == null ? "" : ": " + desc), e);
  }

  private static String connectMessage(Throwable c) {
    String m = String.valueOf(c.getMessage());
    if (m.toLowerCase(java.util.Locale.ROOT).contains("refused")) {
      return "connection refused";
    }
    if (m.toLowerCase(java.util.Locale.ROOT).contains("timed out")) {
      return "connection timed out";
    }
    return m;
  }

  private static String rootMessage(Throwable t) {
    Throwable r = t;
    while (r.getCause() != null && r.getCause() != r) {
      r = r.getCause();
    }
    return String.valueOf(r.getMessage());
  }

  private static String shorten(String m) {
    return m.length() > 200 ? m.substring(0, 200) + "..." : m;
  }

  private static String orElse(String s, String fallback) {
    return s == null || s.isBlank() ? fallback : s;
  }
}
