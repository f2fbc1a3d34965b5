package org.q2q.tools;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.q2q.certstore.Address;
import org.q2q.client.ConnectionListener;
import org.q2q.client.Route;

/**
 * With {@code -v}: one line per connection attempt of a connect, with when it started and ended
 * (milliseconds since the connect began) and why it lost, e.g.
 * {@code "  connect +12 ms: direct tcp 10.0.0.5:41234 failed after 3 ms: Connection refused"}.
 */
final class AttemptLog implements ConnectionListener {
  private final PrintWriter err;
  private final LongSupplier nanoTime;
  private final Map<Route, Long> startedAt = new ConcurrentHashMap<>();
  private volatile long connectStart;

  AttemptLog(PrintWriter err, LongSupplier nanoTime) {
    this.err = err;
    this.nanoTime = nanoTime;
    this.connectStart = nanoTime.getAsLong();
  }

  @Override
  public void connectStart(Address to, String service) {
    connectStart = nanoTime.getAsLong();
    print("connecting to " + to + "/" + service);
  }

  @Override
  public void inboundAnswered(Address to, String service, int listeners) {
    print("the server of " + to.domain() + " answered: " + listeners + " listener(s)");
  }

  @Override
  public void sessionReused(Address to, Route route) {
    print("reusing the session with " + to + " via " + route);
  }

  @Override
  public void attemptStart(Address to, Route route) {
    startedAt.put(route, nanoTime.getAsLong());
    print(route + " started");
  }

  @Override
  public void attemptProgress(Address to, Route route, String step) {
    print(route + ": " + step);
  }

  @Override
  public void attemptFailed(Address to, Route route, Throwable cause) {
    print(route + " failed after " + sinceStart(route) + " ms: "
        + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage()));
  }

  @Override
  public void attemptWon(Address to, Route route) {
    print(route + " won after " + sinceStart(route) + " ms");
  }

  private long sinceStart(Route route) {
    Long t = startedAt.get(route);
    return t == null ? 0 : (nanoTime.getAsLong() - t) / 1_000_000;
  }

  private void print(String line) {
    long ms = (nanoTime.getAsLong() - connectStart) / 1_000_000;
    synchronized (err) {
      err.println("  connect +" + ms + " ms: " + line);
      err.flush();
    }
  }
}
