package org.q2q.server.internal.fleet;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.q2q.certstore.Address;
import org.q2q.server.internal.presence.ListenerRegistry.Key;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The domain's nodes and who listens where, in the shared PostgreSQL database (tables {@code nodes}
 * and {@code listeners}, migration V10).
 *
 * <ul>
 *   <li>This node's row is its heartbeat, written every {@code heartbeat}; a node whose last
 *       heartbeat is older than {@code deadAfter} (by the database's clock, so node clocks need not
 *       agree) is dead: it is not listed and its listeners do not count.
 *   <li>Changes to who listens here are queued ({@link #listening}, called on the Listen path, never
 *       waits for the database) and written in batches, the latest state of a pair winning; a batch
 *       that fails stays queued and is tried again.
 *   <li>If this node's row was lost (the database was replaced, or another node collected it after
 *       a long outage), the next heartbeat re-creates it and re-announces every pair listened for.
 *   <li>Rows of nodes dead for an hour are deleted (with their listeners).
 * </ul>
 * Safe for concurrent use.
 */
public final class NodeDirectory implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeDirectory.class);
  /** Dead nodes' rows are kept this long (for the logs of whoever looks), then collected. */
  private static final Duration COLLECT_AFTER = Duration.ofHours(1);
  /** How often queued listener changes are written. */
  private static final Duration FLUSH_EVERY = Duration.ofMillis(20);

  private final DataSource db;
  private final String id;
  private volatile Node self;
  private final Duration heartbeat;
  private final Duration deadAfter;
  private final Supplier<List<Key>> localKeys;
  /** Pending changes: true = this node listens for the pair, false = it stopped. */
  private final Map<Key, Boolean> pending = new ConcurrentHashMap<>();
  private volatile List<Node> live = List.of();
  private final List<ScheduledFuture<?>> tasks = new ArrayList<>();
  private volatile boolean closed;

  /**
   * @param id this node's id ({@link Node#newId})
   * @param heartbeat how often this node writes its heartbeat and rereads the live nodes
   * @param deadAfter how old a heartbeat may be before its node counts as dead
   * @param localKeys every pair listened for on this node now (to re-announce them all)
   */
  public NodeDirectory(DataSource db, String id, Duration heartbeat, Duration deadAfter, Supplier<List<Key>> localKeys) {
    this.db = db;
    this.id = id;
    this.heartbeat = heartbeat;
    this.deadAfter = deadAfter;
    this.localKeys = localKeys;
  }

  /** This node's id. */
  public String id() {
    return id;
  }

  /** What starts the listener ids this node issues. */
  public String ticketPrefix() {
    return id + Node.TICKET_SEPARATOR;
  }

  /** This node, once started. */
  public Node self() {
    Node n = self;
    if (n == null) {
      throw new IllegalStateException("node " + id + " has not joined the directory yet");
    }
    return n;
  }

  /**
   * Joins the directory as {@code self} (its ports are known once the server has bound them):
   * writes the first heartbeat, so that the node is live before it serves anyone, and schedules the
   * heartbeats and the writing of listener changes on {@code timer}.
   *
   * @throws SQLException if the database cannot be written
   */
  public synchronized void start(Node self, ScheduledExecutorService timer) throws SQLException {
    if (!self.id().equals(id)) {
      throw new IllegalArgumentException("node " + self.id() + " is not " + id);
    }
    this.self = self;
    beat();
    long hb = heartbeat.toMillis();
    tasks.add(timer.scheduleWithFixedDelay(this::beatQuietly, hb, hb, TimeUnit.MILLISECONDS));
    long fl = FLUSH_EVERY.toMillis();
    tasks.add(timer.scheduleWithFixedDelay(this::flushQuietly, fl, fl, TimeUnit.MILLISECONDS));
    log.info("{}: in the node directory; {} live node(s): {}", self, live.size(), live);
  }

  /** Queues the news that this node got its first listener for (address, service), or lost its last. */
  public void listening(Address address, String service, boolean on) {
    pending.put(new Key(address, service), on);
  }

  /**
   * The live nodes other than this one holding listeners for (address, service), as the database
   * says now (a change another node made is visible once it has written it: within tens of ms).
   */
  public List<Node> holders(Address address, String service) throws SQLException {
    try (Connection c = db.getConnection();
        PreparedStatement q = c.prepareStatement(
            "SELECT n.node_id, n.host, n.grpc_port, n.relay_port FROM listeners l JOIN nodes n ON n.node_id = l.node_id"
                + " WHERE l.address = ? AND l.service = ? AND l.node_id <> ?"
                + " AND n.heartbeat_at > now() - ? * interval '1 millisecond' ORDER BY n.started_at")) {
      q.setString(1, address.toString());
      q.setString(2, service);
      q.setString(3, id);
      q.setLong(4, deadAfter.toMillis());
      return nodes(q);
    }
  }

  /** The live node with id {@code id}, as of the last heartbeat. */
  public Optional<Node> live(String id) {
    return live.stream().filter(n -> n.id().equals(id)).findFirst();
  }

  /** The live nodes as of the last heartbeat, this one first. */
  public List<Node> liveNodes() {
    return live;
  }

  private void beatQuietly() {
    try {
      beat();
    } catch (SQLException | RuntimeException e) {
      log.warn("{}: heartbeat not written (the other nodes will count this one dead if it lasts {} ms): {}",
          self, deadAfter.toMillis(), e.toString());
    }
  }

  private void beat() throws SQLException {
    if (closed) {
      return;
    }
    Node self = self();
    boolean created;
    try (Connection c = db.getConnection();
        PreparedStatement up = c.prepareStatement(
            "INSERT INTO nodes (node_id, host, grpc_port, relay_port) VALUES (?, ?, ?, ?)"
                + " ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now() RETURNING (xmax = 0)")) {
      up.setString(1, self.id());
      up.setString(2, self.host());
      up.setInt(3, self.grpcPort());
      up.setInt(4, self.relayPort());
      try (ResultSet r = up.executeQuery()) {
        created = r.next() && r.getBoolean(1);
      }
      try (PreparedStatement q = c.prepareStatement(
          "SELECT node_id, host, grpc_port, relay_port FROM nodes"
              + " WHERE heartbeat_at > now() - ? * interval '1 millisecond' ORDER BY started_at")) {
        q.setLong(1, deadAfter.toMillis());
        List<Node> all = nodes(q);
        List<Node> ordered = new ArrayList<>(all.size());
        ordered.add(self);
        all.stream().filter(n -> !n.id().equals(self.id())).forEach(ordered::add);
        List<Node> before = live;
        live = List.copyOf(ordered);
        if (!before.isEmpty() && !before.stream().map(Node::id).toList().equals(live.stream().map(Node::id).toList())) {
          log.info("{}: live nodes now {}", self, live);
        }
      }
      if (created) {
        try (PreparedStatement gc = c.prepareStatement(
            "DELETE FROM nodes WHERE heartbeat_at < now() - ? * interval '1 millisecond'")) {
          gc.setLong(1, COLLECT_AFTER.toMillis());
          int n = gc.executeUpdate();
          if (n > 0) {
            log.info("{}: collected {} node(s) dead for over {}", self, n, COLLECT_AFTER);
          }
        }
      }
    }
    if (created && !live.isEmpty()) {
      List<Key> keys = localKeys.get();
      keys.forEach(k -> pending.putIfAbsent(k, true));
      if (!keys.isEmpty()) {
        log.info("{}: node row (re)created; re-announcing {} listened pair(s)", self, keys.size());
      }
    }
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (SQLException | RuntimeException e) {
      log.warn("{}: {} listener change(s) not written yet (retrying): {}", self, pending.size(), e.toString());
    }
  }

  /** Writes the queued listener changes in one transaction. */
  void flush() throws SQLException {
    if (pending.isEmpty() || closed) {
      return;
    }
    Map<Key, Boolean> batch = Map.copyOf(pending);
    try (Connection c = db.getConnection()) {
      boolean auto = c.getAutoCommit();
      c.setAutoCommit(false);
      try (PreparedStatement add = c.prepareStatement(
              "INSERT INTO listeners (address, service, node_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
          PreparedStatement del = c.prepareStatement(
              "DELETE FROM listeners WHERE address = ? AND service = ? AND node_id = ?")) {
        for (Map.Entry<Key, Boolean> e : batch.entrySet()) {
          PreparedStatement s = e.getValue() ? add : del;
          s.setString(1, e.getKey().address().toString());
          s.setString(2, e.getKey().service());
          s.setString(3, id);
          s.addBatch();
        }
        add.executeBatch();
        del.executeBatch();
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(auto);
      }
    }
    batch.forEach(pending::remove); // only if unchanged since: a newer change stays queued
  }

  private static List<Node> nodes(PreparedStatement q) throws SQLException {
    List<Node> out = new ArrayList<>();
    try (ResultSet r = q.executeQuery()) {
      while (r.next()) {
        out.add(new Node(r.getString(1), r.getString(2), r.getInt(3), r.getInt(4)));
      }
    }
    return out;
  }

  /**
   * Leaves the directory: this node's row and its listeners are deleted, so that the other nodes
   * stop forwarding here at once rather than after {@code deadAfter}.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    tasks.forEach(t -> t.cancel(false));
    if (self == null) {
      return; // never joined
    }
    try (Connection c = db.getConnection();
        PreparedStatement d = c.prepareStatement("DELETE FROM nodes WHERE node_id = ?")) {
      d.setString(1, id);
      d.executeUpdate();
      log.info("{}: left the node directory", self);
    } catch (SQLException | RuntimeException e) {
      log.warn("{}: could not leave the node directory (the others will count it dead in {} ms): {}", self,
          deadAfter.toMillis(), e.toString());
    }
  }
}
