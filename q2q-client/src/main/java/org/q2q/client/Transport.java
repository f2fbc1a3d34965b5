package org.q2q.client;

/** Which connection methods a connect may use (the CLI's {@code --transport}). */
public enum Transport {
  /** Every method, raced: direct first, the relay after the soft timeout. */
  AUTO,
  /** Only direct paths (TCP either way); fails rather than use the relay. */
  DIRECT,
  /** Only the presence server's relay. */
  RELAY;

  /** Whether a route of {@code kind} may carry a connect with this choice. */
  public boolean allows(Route.Kind kind) {
    return switch (this) {
      case AUTO -> true;
      case DIRECT -> kind.direct();
      case RELAY -> kind == Route.Kind.RELAY;
    };
  }
}
