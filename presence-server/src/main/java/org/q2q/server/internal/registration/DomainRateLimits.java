package org.q2q.server.internal.registration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.server.ServerDatabase;

/**
 * The registration limits that hold for the whole domain, counted in the {@link ServerDatabase}
 * (so that on PostgreSQL a limit reached through one node holds on the others; on SQLite the one
 * node counts the same way):
 *
 * <ul>
 *   <li>failed passwords per key in a sliding window ({@link #tryReserve}): once a key has {@code
 *       max} failures younger than the window it is blocked until the oldest of the newest {@code
 *       max} ages out. An attempt is counted before its password is checked, all its keys in one
 *       transaction (so concurrent attempts on any node cannot all pass a check made before any of
 *       them failed), and {@link #refund}ed if it succeeds;
 *   <li>token buckets ({@link #tryTake}): {@code burst} tokens, refilled at a rate.
 * </ul>
 *
 * Rows older than they matter are deleted as it goes (at most about once a {@link #PRUNE_EVERY}
 * for keys nobody uses again). Safe for concurrent use.
 */
public final class DomainRateLimits {
  /** How often stale rows of keys not used again are deleted. */
  static final Duration PRUNE_EVERY = Duration.ofMinutes(1);

  private final ServerDatabase db;
  private final Clock clock;
  private final AtomicLong nextPruneMs = new AtomicLong();

  public DomainRateLimits(ServerDatabase db, Clock clock) {
    this.db = db;
    this.clock = clock;
  }

  /** A sliding-window limit: at most {@code max} failures of {@code key} in {@code window}. */
  public record Window(String key, int max, Duration window) {}

  /** A refused attempt: which of the windows is full, and for how long. */
  public record Blocked(Window window, Duration remaining) {}

  /** A counted attempt, to {@link #refund} if its password was right. */
  public record Reservation(List<String> ids) {}

  /**
   * Counts one failure under every window now, unless one of them is full.
   *
   * @return the reservation, or the first full window (nothing counted then)
   */
  public Result tryReserve(List<Window> windows) throws SQLException {
    long now = clock.millis();
    pruneIfDue(now, windows.stream().map(Window::window).max(Comparator.naturalOrder()).orElse(Duration.ZERO));
    return db.inTransaction(c -> {
      // one lock order for every transaction, so two attempts sharing keys cannot deadlock
      for (String k : windows.stream().map(Window::key).sorted().distinct().toList()) {
        db.dialect().lock(c, "failures:" + k);
      }
      for (Window w : windows) {
        long cutoff = now - w.window().toMillis();
        try (PreparedStatement p = c.prepareStatement(
            "DELETE FROM password_failures WHERE limit_key = ? AND at_ms <= ?")) {
          p.setString(1, w.key());
          p.setLong(2, cutoff);
          p.executeUpdate();
        }
        Optional<Long> nthNewest = nthNewestFailure(c, w, cutoff);
        if (nthNewest.isPresent()) {
          return new Result(null, new Blocked(w, Duration.ofMillis(Math.max(0, nthNewest.get() + w.window().toMillis() - now))));
        }
      }
      List<String> ids = new ArrayList<>();
      for (Window w : windows) {
        String id = UUID.randomUUID().toString();
        try (PreparedStatement p = c.prepareStatement(
            "INSERT INTO password_failures(id, limit_key, at_ms) VALUES (?, ?, ?)")) {
          p.setString(1, id);
          p.setString(2, w.key());
          p.setLong(3, now);
          p.executeUpdate();
        }
        ids.add(id);
      }
      return new Result(new Reservation(List.copyOf(ids)), null);
    });
  }

  /** What {@link #tryReserve} did: exactly one of the two is set. */
  public record Result(Reservation reservation, Blocked blocked) {}

  /** The time of the {@code max}-th newest failure of the window's key, if it has that many. */
  private static Optional<Long> nthNewestFailure(Connection c, Window w, long cutoff) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT at_ms FROM password_failures WHERE limit_key = ? AND at_ms > ? ORDER BY at_ms DESC LIMIT ?")) {
      p.setString(1, w.key());
      p.setLong(2, cutoff);
      p.setInt(3, w.max());
      int n = 0;
      long last = 0;
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          n++;
          last = rs.getLong(1);
        }
      }
      return n >= w.max() ? Optional.of(last) : Optional.empty();
    }
  }

  /** Takes back a reservation (the attempt succeeded). */
  public void refund(Reservation r) throws SQLException {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM password_failures WHERE id = ?")) {
        for (String id : r.ids()) {
          p.setString(1, id);
          p.executeUpdate();
        }
      }
      return null;
    });
  }

  /**
   * Takes a token of {@code key} in the bucket {@code name} ({@code burst} tokens at most, refilled
   * at {@code perSecond}).
   *
   * @return 0 if taken, else the seconds until a token is there again (at least 1)
   */
  public long tryTake(String name, String key, int burst, double perSecond) throws SQLException {
    long now = clock.millis();
    double perMilli = perSecond / 1000;
    return db.inTransaction(c -> {
      db.dialect().lock(c, "bucket:" + name + ":" + key);
      double tokens = burst;
      long at = now;
      try (PreparedStatement p = c.prepareStatement(
          "SELECT tokens, at_ms FROM rate_buckets WHERE name = ? AND limit_key = ?")) {
        p.setString(1, name);
        p.setString(2, key);
        try (ResultSet rs = p.executeQuery()) {
          if (rs.next()) {
            tokens = Math.min(burst, rs.getDouble(1) + Math.max(0, now - rs.getLong(2)) * perMilli);
          }
        }
      }
      boolean taken = tokens >= 1;
      if (taken) {
        tokens -= 1;
      }
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO rate_buckets(name, limit_key, tokens, at_ms) VALUES (?, ?, ?, ?)"
              + " ON CONFLICT (name, limit_key) DO UPDATE SET tokens = excluded.tokens, at_ms = excluded.at_ms")) {
        p.setString(1, name);
        p.setString(2, key);
        p.setDouble(3, tokens);
        p.setLong(4, at);
        p.executeUpdate();
      }
      return taken ? 0L : Math.max(1, (long) Math.ceil((1 - tokens) / perMilli / 1000));
    });
  }

  /**
   * Deletes failures older than {@code window} and buckets untouched for a day (full long since,
   * for any rate the server uses), at most once per {@link #PRUNE_EVERY}.
   */
  private void pruneIfDue(long now, Duration window) throws SQLException {
    long due = nextPruneMs.get();
    if (now < due || !nextPruneMs.compareAndSet(due, now + PRUNE_EVERY.toMillis())) {
      return;
    }
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM password_failures WHERE at_ms <= ?")) {
        p.setLong(1, now - window.toMillis());
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM rate_buckets WHERE at_ms <= ?")) {
        p.setLong(1, now - Duration.ofDays(1).toMillis());
        p.executeUpdate();
      }
      return null;
    });
  }
}
