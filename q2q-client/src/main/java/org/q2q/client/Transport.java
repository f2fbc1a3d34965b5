package org.q2q.client;

/** Which connection methods a connect may use (the CLI's {@code --transport}). */
public enum Transport {
  /** Every method, raced: direct TCP first, PTCP after the soft timeout, the relay after the next. */
  AUTO,
  /** Only direct paths (TCP either way, PTCP through NATs); fails rather than use the relay. */
  DIRECT,
  /** Only PTCP over UDP, hole-punched through NATs. */
  PTCP,
  /** Only the presence server's relay. */
  RELAY;

  /** Whether a route of {@code kind} may carry a connect with this choice. */
  public boolean allows(Route.Kind kind) {
    return switch (this) {
      case AUTO -> true;
      case DIRECT -> kind.direct();
      case PTCP -> kind == Route.Kind.PTCP;
      case RELAY -> kind == Route.Kind.RELAY;
    };
  }
}
