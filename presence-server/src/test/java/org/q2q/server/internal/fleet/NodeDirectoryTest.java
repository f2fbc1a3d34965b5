package org.q2q.server.internal.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.server.PostgresTestDatabase;
import org.q2q.server.ServerDatabase;
import org.q2q.server.internal.presence.ListenerRegistry.Key;

/** The node directory on a real PostgreSQL: liveness, listener changes, recovery of a lost row. */
@Timeout(60)
class NodeDirectoryTest {
  private static final Address BOB = Address.parse("bob@example.com");
  private static final Duration HEARTBEAT = Duration.ofMillis(100);
  private static final Duration DEAD_AFTER = Duration.ofMillis(600);

  private PostgresTestDatabase pg;
  private ServerDatabase db;
  private ScheduledExecutorService timer;
  private final List<Key> localOfA = new CopyOnWriteArrayList<>();
  private NodeDirectory a;
  private NodeDirectory b;

  @BeforeEach
  void start() throws Exception {
    pg = PostgresTestDatabase.create();
    db = ServerDatabase.open(pg.location()); // migrated: the node directory's tables
    timer = Executors.newScheduledThreadPool(2);
    a = new NodeDirectory(db.dataSource(), "nodeAAAA", HEARTBEAT, DEAD_AFTER, () -> List.copyOf(localOfA));
    b = new NodeDirectory(db.dataSource(), "nodeBBBB", HEARTBEAT, DEAD_AFTER, List::of);
    a.start(new Node("nodeAAAA", "127.0.0.1", 1001, 1002), timer);
    b.start(new Node("nodeBBBB", "127.0.0.1", 2001, 2002), timer);
  }

  @AfterEach
  void stop() throws Exception {
    // null where start() stopped early (no PostgreSQL here: the tests are skipped, not failed)
    for (AutoCloseable c : new AutoCloseable[] {a, b, timer == null ? null : timer::shutdownNow, db, pg}) {
      if (c != null) {
        c.close();
      }
    }
  }

  private static void await(java.util.concurrent.Callable<Boolean> c, String what) throws Exception {
    long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!c.call()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void aListenerOfOneNodeIsFoundByTheOtherUntilItLeaves() throws Exception {
    a.listening(BOB, "file", true);
    await(() -> b.holders(BOB, "file").size() == 1, "b sees a's listener");
    assertThat(b.holders(BOB, "file").get(0).grpcPort()).isEqualTo(1001);
    assertThat(a.holders(BOB, "file")).isEmpty(); // a node never forwards to itself
    assertThat(b.holders(BOB, "web")).isEmpty();

    a.listening(BOB, "file", false);
    await(() -> b.holders(BOB, "file").isEmpty(), "the listener gone");
  }

  @Test
  void theLatestChangeOfAPairWins() throws Exception {
    for (int i = 0; i < 50; i++) {
      a.listening(BOB, "file", true);
      a.listening(BOB, "file", false);
    }
    a.listening(BOB, "file", true);
    await(() -> b.holders(BOB, "file").size() == 1, "b sees a's listener");
    Thread.sleep(200);
    assertThat(b.holders(BOB, "file")).hasSize(1);
  }

  @Test
  void aNodeThatStopsBeatingStopsCountingWithinDeadAfter() throws Exception {
    a.listening(BOB, "file", true);
    await(() -> b.holders(BOB, "file").size() == 1 && b.liveNodes().size() == 2, "both live");
    NodeDirectory stuck = a;
    // a hung node: its heartbeats stop, its rows stay
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
      stuck.close(); // (deletes its row) then put back a stale copy of it
      s.execute("INSERT INTO nodes (node_id, host, grpc_port, relay_port) VALUES ('nodeAAAA', '127.0.0.1', 1001, 1002)");
      s.execute("INSERT INTO listeners VALUES ('bob@example.com', 'file', 'nodeAAAA')");
    }
    await(() -> b.holders(BOB, "file").size() == 1, "b sees the stale node's listener");
    long t0 = System.nanoTime();
    await(() -> b.holders(BOB, "file").isEmpty(), "the stale node's listener no longer counts");
    // dead after DEAD_AFTER, noticed at b's next heartbeat
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(DEAD_AFTER.plus(HEARTBEAT).plusMillis(500));
    await(() -> b.liveNodes().size() == 1, "b alone in its list");
  }

  @Test
  void aNodeWhoseRowWasLostReannouncesItsListeners() throws Exception {
    localOfA.add(new Key(BOB, "file"));
    a.listening(BOB, "file", true);
    await(() -> b.holders(BOB, "file").size() == 1, "b sees a's listener");
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
      s.execute("DELETE FROM nodes WHERE node_id = 'nodeAAAA'"); // its listeners go with it
    }
    await(() -> {
      try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
          java.sql.ResultSet r = s.executeQuery("SELECT count(*) FROM listeners WHERE node_id = 'nodeAAAA' AND present")) {
        return r.next() && r.getInt(1) == 1;
      }
    }, "a's listener written again after its next heartbeat");
    assertThat(b.holders(BOB, "file")).extracting(Node::id).containsExactly("nodeAAAA");
  }

  @Test
  void aNodeStartingLateReadsTheListenersAlreadyThere() throws Exception {
    for (int i = 0; i < 2500; i++) {
      a.listening(Address.parse("user" + i + "@example.com"), "file", i % 5 != 0);
    }
    await(() -> b.holders(Address.parse("user2499@example.com"), "file").size() == 1, "b sees the last one");
    try (NodeDirectory c = new NodeDirectory(db.dataSource(), "nodeCCCC", HEARTBEAT, DEAD_AFTER, List::of)) {
      c.start(new Node("nodeCCCC", "127.0.0.1", 3001, 3002), timer);
      // at once: its start read every change so far
      assertThat(c.holders(Address.parse("user1@example.com"), "file")).extracting(Node::id).containsExactly("nodeAAAA");
      assertThat(c.holders(Address.parse("user5@example.com"), "file")).isEmpty();
      long listening = java.util.stream.IntStream.range(0, 2500)
          .filter(i -> !c.holders(Address.parse("user" + i + "@example.com"), "file").isEmpty()).count();
      assertThat(listening).isEqualTo(2000);
    }
  }

  @Test
  void aListenerIdNamesItsNode() {
    String id = a.ticketPrefix() + "xxxxxxxxxxxxxxxxxxxxxx";
    assertThat(Node.ofTicket(id)).isEqualTo("nodeAAAA");
    assertThat(Node.ofTicket("xxxxxxxxxxxxxxxxxxxxxx")).isEmpty(); // a single node's ids name none
    assertThat(Node.ofTicket("a.b")).isEmpty();
  }
}
