package org.q2q.tools;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.q2q.client.Q2qClient;
import org.q2q.tools.ExitCodes.CommandFailedException;

/** Waiting for the presence server to confirm a listening command's registration (receive, expose, gateway). */
final class Registrations {
  /** How long to wait for the server to confirm before giving up. */
  static final long READY_TIMEOUT_SECONDS = 60;

  private Registrations() {}

  /**
   * Waits for {@code ready}.
   *
   * @param what the refusal's prefix, e.g. "cannot receive files for bob@example.com"
   * @throws CommandFailedException REFUSED with the server's reason, or UNREACHABLE after the timeout
   */
  static void await(CompletableFuture<?> ready, Q2qClient client, String what)
      throws CommandFailedException, InterruptedException {
    try {
      ready.get(READY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new CommandFailedException(ExitCodes.REFUSED, what + ": " + CliErrors.message(e.getCause()));
    } catch (TimeoutException e) {
      throw new CommandFailedException(ExitCodes.UNREACHABLE, "the presence server " + client.server()
          + " did not confirm the registration within " + READY_TIMEOUT_SECONDS + " s");
    }
  }
}
