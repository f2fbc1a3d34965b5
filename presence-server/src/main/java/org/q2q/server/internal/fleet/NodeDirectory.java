package org.q2q.server.internal.fleet;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
 * The domain's nodes and who listens where, kept in the shared PostgreSQL database (tables
 * {@code nodes} and {@code listeners}, migration V10) and mirrored in memory, so that an Inbound
 * asks no database.
 *
 * <ul>
 *   <li>This node's row is its heartbeat, written every {@code heartbeat}; a node whose last
 *       heartbeat is older than {@code deadAfter} (by the database's clock, so node clocks need not
 *       agree) is dead: it is not listed and its listeners do not count. The list of nodes is reread
 *       with each heartbeat.
 *   <li>Changes to who listens here are queued ({@link #listening}, called on the Listen path, never
 *       waits for the database) and written in batches every {@value #FLUSH_MS} ms, the latest state
 *       of a pair winning; a batch that fails stays queued and is tried again.
 *   <li>Every change to {@code listeners} takes the next number of a sequence under one advisory
 *       lock, so numbers commit in order; every {@value #POLL_MS} ms each node reads the changes
 *       after the last it has, into its mirror. A listener registered on one node is visible to the
 *       others within about {@value #FLUSH_MS} + {@value #POLL_MS} ms.
 *   <li>If this node's row was lost (the database was replaced, or another node collected it after
 *       a long outage), the next heartbeat re-creates it and re-announces every pair listened for.
 *   <li>Rows of nodes dead for an hour, and withdrawn pairs older than that, are deleted.
 * </ul>
 * Safe for concurrent use.
 */
public final class NodeDirectory implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeDirectory.class);
  /** Dead nodes' rows and withdrawn pairs are kept this long, then collected. */
  private static final Duration COLLECT_AFTER = Duration.ofHours(1);
  static final long FLUSH_MS = 20;
  static final long POLL_MS = 50;
  /** Changes read per query while catching up. */
  private static final int POLL_BATCH = 10_000;
  /** The advisory lock that orders the writers of {@code listeners} (any constant shared by all nodes). */
  private static final long LISTENERS_LOCK = 0x7132714c69737465L; // "q2qListe"

  private final DataSource db;
  private final String id;
  private final Duration heartbeat;
  private final Duration deadAfter;
  private final Supplier<List<Key>> localKeys;
  /** Pending changes: true = this node listens for the pair, false = it stopped. */
  private final Map<Key, Boolean> pending = new ConcurrentHashMap<>();
  /** The other nodes' listeners as of the last change read: pair -> ids of the nodes holding it. */
  private final Map<Key, Set<String>> mirror = new ConcurrentHashMap<>();
  private final Object polling = new Object();
  private long lastChange; // guarded by polling
  private volatile Node self;
  private volatile List<Node> live = List.of();
  private volatile Map<String, Node> liveById = Map.of();
  private final List<ScheduledFuture<?>> tasks = new ArrayList<>();
  private int beats;
  /** The node ids in the table at the last heartbeat; on the heartbeat's thread only. */
  private Set<String> knownBefore = Set.of();
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
   * writes the first heartbeat, so that the node is live before it serves anyone, reads the other
   * nodes' listeners, and schedules the heartbeats, the writing of this node's changes and the
   * reading of the others' on {@code timer}.
   *
   * @throws SQLException if the database cannot be used
   */
  public synchronized void start(Node self, ScheduledExecutorService timer) throws SQLException {
    if (!self.id().equals(id)) {
      throw new IllegalArgumentException("node " + self.id() + " is not " + id);
    }
    this.self = self;
    beat();
    int read = poll();
    long hb = heartbeat.toMillis();
    tasks.add(timer.scheduleWithFixedDelay(this::beatQuietly, hb, hb, TimeUnit.MILLISECONDS));
    tasks.add(timer.scheduleWithFixedDelay(this::flushQuietly, FLUSH_MS, FLUSH_MS, TimeUnit.MILLISECONDS));
    tasks.add(timer.scheduleWithFixedDelay(this::pollQuietly, POLL_MS, POLL_MS, TimeUnit.MILLISECONDS));
    log.info("{}: in the node directory; {} live node(s): {}; {} listener change(s) read", self, live.size(), live,
        read);
  }

  /** Queues the news that this node got its first listener for (address, service), or lost its last. */
  public void listening(Address address, String service, boolean on) {
    pending.put(new Key(address, service), on);
  }

  /**
   * The live nodes other than this one holding listeners for (address, service), from memory: as
   * of the last changes read (tens of ms behind the database) and the last heartbeat (liveness).
   */
  public List<Node> holders(Address address, String service) {
    Set<String> ids = mirror.get(new Key(address, service));
    if (ids == null) {
      return List.of();
    }
    Map<String, Node> alive = liveById;
    List<Node> out = new ArrayList<>(ids.size());
    for (String n : ids) {
      Node node = alive.get(n);
      if (node != null) {
        out.add(node);
      }
    }
    return out;
  }

  /** The live node with id {@code id}, as of the last heartbeat. */
  public Optional<Node> live(String id) {
    return Optional.ofNullable(liveById.get(id));
  }

  /** The live nodes as of the last heartbeat, this one first. */
  public List<Node> liveNodes() {
    return live;
  }

  private void beatQuietly() {
    try {
      beat();
    } catch (SQLException | RuntimeException e) {
      log.warn("node {}: heartbeat not written (the other nodes will count this one dead if it lasts {} ms): {}",
          id, deadAfter.toMillis(), e.toString());
    }
  }

  private void beat() throws SQLException {
    if (closed) {
      return;
    }
    Node self = self();
    boolean created;
    try (Connection c = db.getConnection()) {
      try (PreparedStatement up = c.prepareStatement(
          "INSERT INTO nodes (node_id, host, grpc_port, relay_port) VALUES (?, ?, ?, ?)"
              + " ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now() RETURNING (xmax = 0)")) {
        up.setString(1, self.id());
        up.setString(2, self.host());
        up.setInt(3, self.grpcPort());
        up.setInt(4, self.relayPort());
        try (ResultSet r = up.executeQuery()) {
          created = r.next() && r.getBoolean(1);
        }
      }
      List<Node> alive = new ArrayList<>();
      Set<String> known = new HashSet<>();
      try (PreparedStatement q = c.prepareStatement(
          "SELECT node_id, host, grpc_port, relay_port, heartbeat_at > now() - ? * interval '1 millisecond'"
              + " FROM nodes ORDER BY started_at")) {
        q.setLong(1, deadAfter.toMillis());
        try (ResultSet r = q.executeQuery()) {
          while (r.next()) {
            known.add(r.getString(1));
            if (r.getBoolean(5) && !r.getString(1).equals(id)) {
              alive.add(new Node(r.getString(1), r.getString(2), r.getInt(3), r.getInt(4)));
            }
          }
        }
      }
      List<Node> ordered = new ArrayList<>(alive.size() + 1);
      ordered.add(self);
      ordered.addAll(alive);
      List<Node> before = live;
      live = List.copyOf(ordered);
      Map<String, Node> byId = new java.util.HashMap<>();
      alive.forEach(n -> byId.put(n.id(), n));
      liveById = Map.copyOf(byId);
      if (!before.isEmpty() && !before.stream().map(Node::id).toList().equals(live.stream().map(Node::id).toList())) {
        log.info("{}: live nodes now {}", self, live);
      }
      // nodes gone from the table (left, or collected dead) leave the mirror too: a walk of the
      // mirror only when some node went, not every heartbeat
      if (!known.containsAll(knownBefore)) {
        mirror.replaceAll((k, ids) -> ids.stream().allMatch(known::contains) ? ids : prune(ids, known));
        mirror.values().removeIf(Set::isEmpty);
      }
      knownBefore = known;
      if (created || ++beats % 600 == 0) {
        collect(c);
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

  private static Set<String> prune(Set<String> ids, Set<String> known) {
    Set<String> kept = new HashSet<>(ids);
    kept.retainAll(known);
    return Set.copyOf(kept);
  }

  private void collect(Connection c) throws SQLException {
    try (PreparedStatement gc = c.prepareStatement(
        "DELETE FROM nodes WHERE heartbeat_at < now() - ? * interval '1 millisecond'");
        PreparedStatement gone = c.prepareStatement(
            "DELETE FROM listeners WHERE NOT present AND changed_at < now() - ? * interval '1 millisecond'")) {
      gc.setLong(1, COLLECT_AFTER.toMillis());
      gone.setLong(1, COLLECT_AFTER.toMillis());
      int n = gc.executeUpdate();
      gone.executeUpdate();
      if (n > 0) {
        log.info("node {}: collected {} node(s) dead for over {}", id, n, COLLECT_AFTER);
      }
    }
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (SQLException | RuntimeException e) {
      log.warn("node {}: {} listener change(s) not written yet (retrying): {}", id, pending.size(), e.toString());
    }
  }

  /** Writes the queued listener changes in one transaction, numbered in commit order. */
  void flush() throws SQLException {
    if (pending.isEmpty() || closed) {
      return;
    }
    Map<Key, Boolean> batch = Map.copyOf(pending);
    try (Connection c = db.getConnection()) {
      boolean auto = c.getAutoCommit();
      c.setAutoCommit(false);
      try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?)");
          PreparedStatement up = c.prepareStatement(
              "INSERT INTO listeners (address, service, node_id, present) VALUES (?, ?, ?, ?)"
                  + " ON CONFLICT (address, service, node_id) DO UPDATE SET present = EXCLUDED.present,"
                  + " change = nextval('listener_changes'), changed_at = now()")) {
        lock.setLong(1, LISTENERS_LOCK);
        lock.execute(); // before any number is drawn: numbers commit in order
        for (Map.Entry<Key, Boolean> e : batch.entrySet()) {
          up.setString(1, e.getKey().address().toString());
          up.setString(2, e.getKey().service());
          up.setString(3, id);
          up.setBoolean(4, e.getValue());
          up.addBatch();
        }
        up.executeBatch();
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

  private void pollQuietly() {
    try {
      poll();
    } catch (SQLException | RuntimeException e) {
      log.warn("node {}: other nodes' listener changes not read (retrying): {}", id, e.toString());
    }
  }

  /** Reads the changes after the last one read into the mirror; returns how many. */
  int poll() throws SQLException {
    if (closed) {
      return 0;
    }
    synchronized (polling) {
      int total = 0;
      try (Connection c = db.getConnection();
          PreparedStatement q = c.prepareStatement(
              "SELECT address, service, node_id, present, change FROM listeners WHERE change > ?"
                  + " ORDER BY change LIMIT " + POLL_BATCH)) {
        while (true) {
          q.setLong(1, lastChange);
          int n = 0;
          try (ResultSet r = q.executeQuery()) {
            while (r.next()) {
              n++;
              lastChange = r.getLong(5);
              String node = r.getString(3);
              if (node.equals(id)) {
                continue; // this node's own: it knows them
              }
              Key k;
              try {
                k = new Key(Address.parse(r.getString(1)), r.getString(2));
              } catch (IllegalArgumentException e) {
                continue; // not an address this version reads: skip the row
              }
              boolean present = r.getBoolean(4);
              mirror.compute(k, (key, ids) -> {
                Set<String> next = new HashSet<>(ids == null ? Set.of() : ids);
                if (present) {
                  next.add(node);
                } else {
                  next.remove(node);
                }
                return next.isEmpty() ? null : Set.copyOf(next);
              });
            }
          }
          total += n;
          if (n < POLL_BATCH) {
            return total;
          }
        }
      }
    }
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
