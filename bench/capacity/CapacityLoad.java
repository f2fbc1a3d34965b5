import io.grpc.ManagedChannel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import javax.net.ssl.X509TrustManager;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.grpc.PresenceChannels;
import org.q2q.client.internal.presence.PresenceSession;
import org.q2q.client.internal.relay.RelaySocket;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.RelayOpen;
import org.q2q.proto.RelayRole;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;
import org.q2q.proto.Heartbeat;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.Offer;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.ServiceOffer;

/**
 * Capacity load for a running presence server (its own JVM; this is another): N Listen sessions
 * over M mutual-TLS connections, each with its heartbeat, then Inbound brokering from C callers
 * for S seconds. Identities are issued from the server's CA in its data folder (same machine), so
 * no account or Argon2 work is needed. Prints the server's memory per connection and per idle
 * session (heap after a full GC and RSS, via jcmd and /proc) and the Inbound rate with its p50/p99,
 * then {@code RESULT key=value} lines for bench/run.
 *
 * <p>Usage: java -cp q2q.jar:. CapacityLoad --server HOST:PORT[,HOST:PORT...] --domain D --data DIR
 * --server-pid P[,P...] (several: the nodes of one domain; listener connections and callers go to them
 * in turn, so most Inbound calls cross nodes; memory is summed over them)
 * [--sessions 500] [--connections 100] [--heartbeat-seconds 30 (the client's default)] [--callers 64] [--inbound-seconds 10] [--warmup-seconds 5]
 * [--loops 2] [--services 1] [--idle-seconds 0] [--paced-rate 0 (or R1,R2,...)] [--paced-seconds 30] [--relay-pairs 0]
 *
 * <p>The Inbound phase is closed-loop: each caller has one call in flight, so it measures the most
 * the server brokers and the latency at that saturation. {@code --paced-rate R} adds an open-loop
 * phase after it: R calls a second on a fixed schedule whatever the answers do, each call's latency
 * counted from when it was due (not from when it went out), so a pause that delays many calls is
 * counted in every one of them (no coordinated omission). That is the latency a caller sees while
 * the server holds its sessions below saturation.
 *
 * <p>{@code --relay-pairs P} then opens P relays through the server's relay socket, each a caller
 * and a listener joined by the server as real clients do (Inbound, the caller's relay socket, the
 * listener's on its RelayOpen), checks that a byte crosses each one both ways, and prints the
 * server's memory per pair held; refusals (the server's relay caps) are counted with their reason.
 */
public final class CapacityLoad {
  /** The service a stream offers: "cap-K", K its index on its connection modulo --services. */
  private static String service(int k) {
    return "cap-" + k;
  }

  /** One Listen stream: answers every Inbound query with accept (the server adds the relay). */
  private static final class Session implements StreamObserver<ListenDown> {
    private final CountDownLatch registered;
    private final AtomicInteger ended;
    /** This stream's listener identity, for joining relays. */
    private final Identity identity;
    private StreamObserver<ListenUp> up;
    /** Counted on {@link #registered} (registered, or ended before it was: never waited for twice). */
    private boolean counted;

    Session(Identity identity, CountDownLatch registered, AtomicInteger ended) {
      this.identity = identity;
      this.registered = registered;
      this.ended = ended;
    }

    synchronized void send(ListenUp u) {
      up.onNext(u);
    }

    private synchronized void countOnce() {
      if (!counted) {
        counted = true;
        registered.countDown();
      }
    }

    @Override
    public void onNext(ListenDown d) {
      switch (d.getKindCase()) {
        case REGISTERED -> countOnce();
        case INBOUND_QUERY -> send(ListenUp.newBuilder().setInboundAnswer(InboundAnswer.newBuilder()
            .setQueryId(d.getInboundQuery().getQueryId()).setAccept(true)).build());
        case RELAY_OPEN -> Relays.join(identity, d.getRelayOpen());
        default -> { }
      }
    }

    @Override
    public void onError(Throwable t) {
      ended.incrementAndGet();
      countOnce();
    }

    @Override
    public void onCompleted() {
      ended.incrementAndGet();
      countOnce();
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new ConcurrentHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    // several nodes of one domain (issue 14): listeners and callers spread over them round-robin
    String[] nodes = o.get("server").split(",");
    String[] hosts = new String[nodes.length];
    int[] ports = new int[nodes.length];
    for (int i = 0; i < nodes.length; i++) {
      String[] hp = nodes[i].split(":");
      hosts[i] = hp[0];
      ports[i] = Integer.parseInt(hp[1]);
    }
    Address domain = Address.ofDomain(o.getOrDefault("domain", "localhost"));
    Path data = Path.of(o.get("data"));
    long[] pid = Arrays.stream(o.get("server-pid").split(",")).mapToLong(Long::parseLong).toArray();
    int sessions = Integer.parseInt(o.getOrDefault("sessions", "500"));
    int connections = Integer.parseInt(o.getOrDefault("connections", "100"));
    // the client's own interval unless told otherwise: what real listeners cost
    int heartbeat = Integer.parseInt(o.getOrDefault("heartbeat-seconds",
        String.valueOf(PresenceSession.DEFAULT_HEARTBEAT_INTERVAL.toSeconds())));
    int callers = Integer.parseInt(o.getOrDefault("callers", "64"));
    int inboundSeconds = Integer.parseInt(o.getOrDefault("inbound-seconds", "10"));
    // Inbound calls before the clock starts, not counted: a server that has run for a while has
    // its Inbound path compiled; without this the first seconds measure the JIT, not the server
    int warmupSeconds = Integer.parseInt(o.getOrDefault("warmup-seconds", "5"));
    AtomicLong measureFrom = new AtomicLong(Long.MAX_VALUE);
    int loops = Integer.parseInt(o.getOrDefault("loops", "2"));
    int callerIds = Integer.parseInt(o.getOrDefault("caller-ids", "16"));
    // the streams of one connection (one address) offer this many different services, an Inbound
    // names one: 1 and every Inbound asks all the address's streams (sessions / connections of
    // them); as many as there are streams per connection and it asks one
    int services = Integer.parseInt(o.getOrDefault("services", "1"));
    if (sessions < connections || (sessions + connections - 1) / connections > 32) {
      throw new IllegalArgumentException("need connections <= sessions <= 32 x connections (32 Listen streams per "
          + "address, one address per connection): " + sessions + " / " + connections);
    }

    Clock clock = Clock.systemUTC();
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(data, domain, clock);
    AddressTrustManager trust = new AddressTrustManager(
        d -> d.equals(domain.domain()) ? Optional.of(ca.certificate()) : Optional.empty(),
        AddressTrustManager.AddressCheck.exactly(domain.domainAddress()), clock);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(loops,
        Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    List<ManagedChannel> channels = new ArrayList<>();

    System.out.printf("capacity: %d Listen sessions over %d TLS connections to %s, heartbeat every %d s; "
            + "%d service(s) per address, so an Inbound asks %d listener(s)%n",
        sessions, connections, o.get("server"), heartbeat, services,
        Math.max(1, (sessions + connections - 1) / connections / services));
    long[] base = memory(pid);
    System.out.printf("server before: heap %.1f MiB after GC, RSS %.1f MiB%n", base[0] / 1048576.0, base[1] / 1048576.0);

    CountDownLatch registered = new CountDownLatch(sessions);
    AtomicInteger ended = new AtomicInteger();
    List<Session> all = new ArrayList<>();
    List<PresenceGrpc.PresenceStub> stubs = new ArrayList<>();
    List<Identity> listeners = new ArrayList<>();
    // the library's relay socket runs on NIO loops (the client's kind), not on this load's epoll ones
    Relays.init(new MultiThreadIoEventLoopGroup(loops, NioIoHandler.newFactory()), hosts[0], trust);
    long t0 = System.nanoTime();
    for (int c = 0; c < connections; c++) {
      Identity id = ca.issueIdentity(Address.parse("load-" + c + "@" + domain.domain()), Duration.ofDays(1));
      listeners.add(id);
      ManagedChannel ch = channel(hosts[c % nodes.length], ports[c % nodes.length], domain, trust, id, group,
          listenerSource(c));
      channels.add(ch);
      stubs.add(PresenceGrpc.newStub(ch));
    }
    // first one session per connection (memory per connection), then the rest (per extra session)
    CountDownLatch first = new CountDownLatch(connections);
    for (int c = 0; c < connections; c++) {
      all.add(open(stubs.get(c), listeners.get(c), service(0), first, ended));
      if ((c + 1) % 500 == 0) { // in batches: 10,000 TLS handshakes at once outlast the server's handshake timeout
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (first.getCount() > connections - c - 1 && System.nanoTime() < until) {
          Thread.sleep(20);
        }
      }
    }
    await(first, "the first session of every connection");
    for (int i = 0; i < connections; i++) {
      registered.countDown();
    }
    double openFirst = (System.nanoTime() - t0) / 1e9;
    long[] afterConnections = memory(pid);
    for (int s = connections; s < sessions; s++) {
      all.add(open(stubs.get(s % connections), listeners.get(s % connections), service((s / connections) % services),
          registered, ended));
    }
    await(registered, "every session registered");
    double openAll = (System.nanoTime() - t0) / 1e9;
    ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
    AtomicLong nonce = new AtomicLong();
    long spread = Math.max(1, heartbeat * 1000L / Math.max(1, all.size()));
    for (int i = 0; i < all.size(); i++) {
      Session s = all.get(i);
      beats.scheduleAtFixedRate(() -> {
        try {
          s.send(ListenUp.newBuilder().setHeartbeat(Heartbeat.newBuilder().setNonce(nonce.incrementAndGet())).build());
        } catch (RuntimeException e) {
          // the stream ended; counted by its observer
        }
      }, (i * spread) % (heartbeat * 1000L), heartbeat * 1000L, TimeUnit.MILLISECONDS);
    }
    Thread.sleep(2000);
    long[] idle = memory(pid);
    double perConnection = (afterConnections[0] - base[0]) / (double) connections;
    double perSession = sessions > connections ? (idle[0] - afterConnections[0]) / (double) (sessions - connections) : 0;
    System.out.printf("opened: %d connections with one session each in %.1f s, all %d sessions in %.1f s; %d ended "
            + "(refused or lost)%n",
        connections, openFirst, sessions, openAll, ended.get());
    System.out.printf("server heap: +%.1f MiB for %d connections (%.1f KiB each, with their first session), "
            + "+%.1f MiB for %d more sessions (%.1f KiB each); RSS %.1f -> %.1f MiB%n",
        (afterConnections[0] - base[0]) / 1048576.0, connections, perConnection / 1024,
        (idle[0] - afterConnections[0]) / 1048576.0, sessions - connections, perSession / 1024,
        base[1] / 1048576.0, idle[1] / 1048576.0);

    // only heartbeats for a while (what idle sessions cost the server: GC logs, profiles)
    long idleSeconds = Long.parseLong(o.getOrDefault("idle-seconds", "0"));
    if (idleSeconds > 0) {
      System.out.printf("idle: %d s of heartbeats only%n", idleSeconds);
      Thread.sleep(TimeUnit.SECONDS.toMillis(idleSeconds));
    }

    // Inbound: each caller its own identity and connection, one call in flight each
    List<ManagedChannel> callerChannels = new ArrayList<>();
    List<Identity> callerIdentities = new ArrayList<>();
    List<long[]> latencies = new ArrayList<>();
    Map<Status.Code, AtomicInteger> errors = new ConcurrentHashMap<>();
    List<Thread> threads = new ArrayList<>();
    AtomicLong endAt = new AtomicLong(Long.MAX_VALUE); // set when the clock starts
    CountDownLatch go = new CountDownLatch(1);
    for (int k = 0; k < callers; k++) {
      // each caller rotates over its own identities: a real caller uses the ids it gets (or they
      // expire); these never do, and one identity would soon hold the 1024 unused ids it may
      List<PresenceGrpc.PresenceBlockingStub> ids = new ArrayList<>();
      for (int j = 0; j < callerIds; j++) {
        Identity id = ca.issueIdentity(Address.parse("caller-" + k + "-" + j + "@" + domain.domain()), Duration.ofDays(1));
        ManagedChannel ch = channel(hosts[k % nodes.length], ports[k % nodes.length], domain, trust, id, group,
            callerSource(k));
        callerChannels.add(ch);
        callerIdentities.add(id);
        ids.add(PresenceGrpc.newBlockingStub(ch));
      }
      long[] lat = new long[1 << 16];
      latencies.add(lat);
      Thread t = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        int count = 0;
        int calls = 0; // every call moves to the next identity: warm-up and refused calls use ids too
        while (System.nanoTime() < endAt.get() && count < lat.length - 1) {
          String to = "load-" + ThreadLocalRandom.current().nextInt(connections) + "@" + domain.domain();
          String service = service(ThreadLocalRandom.current().nextInt(services));
          PresenceGrpc.PresenceBlockingStub stub = ids.get(calls++ % ids.size());
          long s = System.nanoTime();
          boolean counted = s >= measureFrom.get();
          try {
            stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                .inbound(InboundRequest.newBuilder().setTo(to).setService(service).build());
            if (counted) {
              lat[count++] = System.nanoTime() - s;
            }
          } catch (StatusRuntimeException e) {
            if (counted) {
              errors.computeIfAbsent(e.getStatus().getCode(), x -> new AtomicInteger()).incrementAndGet();
            }
          }
        }
        lat[lat.length - 1] = count; // the count, in the last slot
      }, "caller-" + k);
      threads.add(t);
      t.start();
    }
    // warm the callers' connections (TLS) before the clock starts
    for (ManagedChannel ch : callerChannels) {
      ch.getState(true);
    }
    Thread.sleep(1000);
    endAt.set(Long.MAX_VALUE);
    go.countDown();
    if (warmupSeconds > 0) {
      System.out.printf("inbound: %d s of warm-up calls, not counted%n", warmupSeconds);
      Thread.sleep(TimeUnit.SECONDS.toMillis(warmupSeconds));
    }
    long s0 = System.nanoTime();
    measureFrom.set(s0);
    endAt.set(s0 + TimeUnit.SECONDS.toNanos(inboundSeconds));
    for (Thread t : threads) {
      t.join();
    }
    double secs = (System.nanoTime() - s0) / 1e9;
    long[] merged = latencies.stream().flatMapToLong(l -> Arrays.stream(l, 0, (int) l[l.length - 1])).sorted()
        .toArray();
    double rate = merged.length / secs;
    double p50 = merged.length == 0 ? Double.NaN : merged[merged.length / 2] / 1e6;
    double p99 = merged.length == 0 ? Double.NaN : merged[(int) Math.min(merged.length - 1, merged.length * 0.99)] / 1e6;
    System.out.printf("inbound: %d answered in %.1f s from %d callers = %.0f/s, p50 %.1f ms, p99 %.1f ms; errors %s%n",
        merged.length, secs, callers, rate, p50, p99, errors);
    System.out.printf("sessions ended during the run: %d%n", ended.get());
    System.out.printf("RESULT sessions=%d%nRESULT connections=%d%nRESULT sessions_open=%d%n", sessions, connections,
        sessions - ended.get());
    System.out.printf("RESULT heap_per_connection_kib=%.1f%nRESULT heap_per_session_kib=%.1f%n", perConnection / 1024,
        perSession / 1024);
    System.out.printf("RESULT inbound_per_s=%.0f%nRESULT inbound_p50_ms=%.1f%nRESULT inbound_p99_ms=%.1f%n", rate, p50,
        p99);
    System.out.printf("RESULT inbound_errors=%d%n", errors.values().stream().mapToInt(AtomicInteger::get).sum());

    for (String r : o.getOrDefault("paced-rate", "0").split(",")) { // one open-loop phase per rate, in order
      int pacedRate = Integer.parseInt(r.trim());
      if (pacedRate > 0) {
        paced(callerChannels, pacedRate, Integer.parseInt(o.getOrDefault("paced-seconds", "30")), connections, services,
            domain);
      }
    }
    int relayPairs = Integer.parseInt(o.getOrDefault("relay-pairs", "0"));
    if (relayPairs > 0) {
      relayPairs(relayPairs, callerChannels, callerIdentities, connections, domain, hosts[0], pid);
    }

    beats.shutdownNow();
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
    for (ManagedChannel ch : callerChannels) {
      ch.shutdownNow();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    System.exit(0);
  }

  /**
   * The open-loop phase: {@code rate} Inbound calls a second for {@code seconds}, round-robin over
   * the callers' identities, each latency counted from the moment the call was due. At most
   * {@link #PACED_IN_FLIGHT} calls wait at once; a call due beyond that counts as an error
   * ("overloaded"), so a server that stops answering ends the phase with errors, not a hang.
   */
  private static void paced(List<ManagedChannel> callers, int rate, int seconds, int connections, int services,
      Address domain)
      throws InterruptedException {
    List<PresenceGrpc.PresenceStub> stubs = callers.stream().map(PresenceGrpc::newStub).toList();
    long[] lat = new long[(int) Math.min(50_000_000L, (long) rate * seconds + 16)];
    AtomicInteger done = new AtomicInteger();
    AtomicInteger inFlight = new AtomicInteger();
    Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
    long interval = 1_000_000_000L / rate;
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long epochNanosAtStart = (System.currentTimeMillis() + TimeUnit.NANOSECONDS.toMillis(start - System.nanoTime()))
        * 1_000_000L;
    Map<Long, Integer> slow = new java.util.concurrent.ConcurrentSkipListMap<>();
    System.out.printf("paced: %d Inbound/s for %d s, latency from when each call was due%n", rate, seconds);
    for (long i = 0; ; i++) {
      long due = start + i * interval;
      if (due >= end) {
        break;
      }
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      if (inFlight.get() >= PACED_IN_FLIGHT) {
        errors.computeIfAbsent("overloaded", x -> new AtomicInteger()).incrementAndGet();
        continue;
      }
      inFlight.incrementAndGet();
      String to = "load-" + ThreadLocalRandom.current().nextInt(connections) + "@" + domain.domain();
      String service = service(ThreadLocalRandom.current().nextInt(services));
      stubs.get((int) (i % stubs.size())).withDeadlineAfter(10, TimeUnit.SECONDS).inbound(
          InboundRequest.newBuilder().setTo(to).setService(service).build(), new StreamObserver<InboundResponse>() {
            @Override
            public void onNext(InboundResponse r) {
            }

            @Override
            public void onError(Throwable t) {
              errors.computeIfAbsent(Status.fromThrowable(t).getCode().toString(), x -> new AtomicInteger())
                  .incrementAndGet();
              inFlight.decrementAndGet();
            }

            @Override
            public void onCompleted() {
              int k = done.getAndIncrement();
              long took = System.nanoTime() - due;
              if (k < lat.length) {
                lat[k] = took;
              }
              if (took > SLOW_NANOS) { // when (wall clock, due time) the slow calls were due: to set beside GC logs
                slow.merge((epochNanosAtStart + (due - start)) / 100_000_000L * 100, 1, Integer::sum);
              }
              inFlight.decrementAndGet();
            }
          });
    }
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (inFlight.get() > 0 && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    double secs = (System.nanoTime() - start) / 1e9;
    long[] sorted = Arrays.copyOf(lat, Math.min(done.get(), lat.length));
    Arrays.sort(sorted);
    double p50 = sorted.length == 0 ? Double.NaN : sorted[sorted.length / 2] / 1e6;
    double p99 = sorted.length == 0 ? Double.NaN : sorted[(int) Math.min(sorted.length - 1, sorted.length * 0.99)] / 1e6;
    double max = sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1] / 1e6;
    int errorCount = errors.values().stream().mapToInt(AtomicInteger::get).sum();
    System.out.printf("paced: calls over %d ms by the 100 ms window they were due in (epoch ms): %s%n",
        SLOW_NANOS / 1_000_000, slow);
    System.out.printf("paced: %d answered in %.1f s (%.0f/s asked), p50 %.1f ms, p99 %.1f ms, max %.1f ms; errors %s%n",
        sorted.length, secs, (double) rate, p50, p99, max, errors);
    System.out.printf("RESULT paced_%d_p50_ms=%.1f%nRESULT paced_%d_p99_ms=%.1f%nRESULT paced_%d_errors=%d%n",
        rate, p50, rate, p99, rate, errorCount);
  }

  private static final int PACED_IN_FLIGHT = 10_000;
  /** A paced call slower than this is listed by when it was due. */
  private static final long SLOW_NANOS = 50_000_000L;

  /** The listener side of the relay phase: joins a relay when the server sends RelayOpen. */
  private static final class Relays {
    private static EventLoopGroup group;
    private static String host;
    private static X509TrustManager trust;
    private static final Map<String, io.netty.handler.ssl.SslContext> contexts = new ConcurrentHashMap<>();
    /** The listener ends, by listener id, as they are spliced (the caller's end looks them up). */
    static final Map<String, CompletableFuture<Channel>> joined = new ConcurrentHashMap<>();

    static void init(EventLoopGroup g, String h, X509TrustManager t) {
      group = g;
      host = h;
      trust = t;
    }

    static io.netty.handler.ssl.SslContext tls(Identity id) {
      return contexts.computeIfAbsent(id.address().toString(), a -> PresenceChannels.relaySocketContext(trust, id));
    }

    static void join(Identity listener, RelayOpen open) {
      CompletableFuture<Channel> f = RelaySocket.open(group.next(), new ServerAddress(host, 1), open.getSocketPort(),
          tls(listener), open.getListenerId(), RelayRole.RELAY_ROLE_LISTENER);
      // echo: the check that bytes cross (added on the channel's loop as it is handed over, before any read)
      f.thenAccept(ch -> ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          ctx.writeAndFlush(msg);
        }
      }));
      joined.put(open.getListenerId(), f);
    }
  }

  /**
   * Opens {@code pairs} relays (at most 64 being set up at once), each from the next caller identity
   * to the next listener address, sends a byte through each and waits for its echo; then the
   * server's memory per pair held, and the refusals with their reasons.
   */
  private static void relayPairs(int pairs, List<ManagedChannel> callerChannels, List<Identity> callerIds,
      int connections, Address domain, String host, long[] pid) throws Exception {
    // the listener ids of the Inbound phases live 60 s (a few hundred MiB at 2,000/s): let them
    // expire first, or their going is subtracted from what the pairs cost
    System.out.printf("relay: waiting 65 s for the listener ids of the Inbound phases to expire%n");
    Thread.sleep(65_000);
    long[] before = memory(pid);
    System.out.printf("relay: opening %d pairs through the relay socket; server heap %.1f MiB after GC, RSS %.1f MiB%n",
        pairs, before[0] / 1048576.0, before[1] / 1048576.0);
    Semaphore setting = new Semaphore(64);
    List<Channel> held = java.util.Collections.synchronizedList(new ArrayList<>());
    Map<String, AtomicInteger> refused = new ConcurrentHashMap<>();
    CountDownLatch done = new CountDownLatch(pairs);
    long t0 = System.nanoTime();
    for (int k = 0; k < pairs; k++) {
      setting.acquire();
      int caller = k % callerChannels.size();
      String to = "load-" + (k % connections) + "@" + domain.domain();
      CompletableFuture<Channel> pair = new CompletableFuture<>();
      try {
        InboundResponse r = PresenceGrpc.newBlockingStub(callerChannels.get(caller)).withDeadlineAfter(10, TimeUnit.SECONDS)
            .inbound(InboundRequest.newBuilder().setTo(to).setService(service(0)).build());
        org.q2q.proto.Listener l = r.getListeners(0);
        int port = l.getMethodsList().stream().filter(m -> m.hasRelay()).mapToInt(m -> m.getRelay().getSocketPort())
            .findFirst().orElse(0);
        if (port == 0) {
          throw new IllegalStateException("no relay socket offered");
        }
        RelaySocket.open(Relays.group.next(), new ServerAddress(host, 1), port, Relays.tls(callerIds.get(caller)),
            l.getId(), RelayRole.RELAY_ROLE_CONNECTOR).thenAccept(ch -> {
              ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  ((ByteBuf) msg).release();
                  pair.complete(ch);
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                  pair.completeExceptionally(new IllegalStateException("closed before the echo"));
                }
              });
              ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {42}));
            }).exceptionally(e -> {
              pair.completeExceptionally(e);
              return null;
            });
      } catch (RuntimeException e) {
        pair.completeExceptionally(e);
      }
      pair.orTimeout(30, TimeUnit.SECONDS).whenComplete((ch, e) -> {
        if (e == null) {
          held.add(ch);
        } else {
          Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
          String why = c instanceof StatusRuntimeException x ? x.getStatus().getCode() + ": " + x.getStatus().getDescription()
              : c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
          refused.computeIfAbsent(why.length() > 160 ? why.substring(0, 160) : why, x -> new AtomicInteger())
              .incrementAndGet();
        }
        setting.release();
        done.countDown();
      });
    }
    done.await(300, TimeUnit.SECONDS);
    double secs = (System.nanoTime() - t0) / 1e9;
    Thread.sleep(1000);
    long open = held.stream().filter(Channel::isActive).count();
    long[] after = memory(pid);
    double perPair = open == 0 ? Double.NaN : (after[0] - before[0]) / (double) open;
    double rssPerPair = open == 0 ? Double.NaN : (after[1] - before[1]) / (double) open;
    System.out.printf("relay: %d of %d pairs spliced and echoing in %.1f s, %d still open; server heap +%.1f MiB "
            + "(%.1f KiB per pair), RSS +%.1f MiB (%.1f KiB per pair); refused: %s%n",
        held.size(), pairs, secs, open, (after[0] - before[0]) / 1048576.0, perPair / 1024,
        (after[1] - before[1]) / 1048576.0, rssPerPair / 1024, refused);
    System.out.printf("RESULT relay_pairs_asked=%d%nRESULT relay_pairs_held=%d%nRESULT relay_heap_per_pair_kib=%.1f%n"
        + "RESULT relay_rss_per_pair_kib=%.1f%n", pairs, open, perPair / 1024, rssPerPair / 1024);
    for (Channel ch : held) {
      ch.close();
    }
  }

  private static Session open(PresenceGrpc.PresenceStub stub, Identity identity, String service,
      CountDownLatch registered, AtomicInteger ended) {
    Session s = new Session(identity, registered, ended);
    s.up = stub.listen(s);
    s.send(ListenUp.newBuilder().setOffer(Offer.newBuilder()
        .addServices(ServiceOffer.newBuilder().setService(service).setDescription("capacity load"))).build());
    return s;
  }

  private static void await(CountDownLatch l, String what) throws InterruptedException {
    if (!l.await(600, TimeUnit.SECONDS)) {
      throw new IllegalStateException("timed out waiting for " + what + " (" + l.getCount() + " left)");
    }
  }

  /**
   * The source address of listener connection {@code c}: the server allows 256 connections per
   * client address, so 128 per address over 127.1.0.0/16 (all of 127/8 is loopback on Linux).
   */
  private static InetSocketAddress listenerSource(int c) {
    int a = c / 128;
    return new InetSocketAddress("127.1." + (a / 250) + "." + (a % 250 + 1), 0);
  }

  /** The source address of caller {@code k}'s connections, one address each. */
  private static InetSocketAddress callerSource(int k) {
    return new InetSocketAddress("127.2." + (k / 250) + "." + (k % 250 + 1), 0);
  }

  private static ManagedChannel channel(String host, int port, Address domain, AddressTrustManager trust, Identity id,
      EventLoopGroup group, InetSocketAddress source) throws Exception {
    SslContext ssl = GrpcSslContexts.configure(SslContextBuilder.forClient()).trustManager(trust)
        .keyManager(id.privateKey(), id.chainArray()).build();
    return NettyChannelBuilder.forAddress(host, port)
        .sslContext(ssl)
        .overrideAuthority(domain.domain())
        .eventLoopGroup(group)
        .channelType(Epoll.isAvailable() ? EpollSocketChannel.class : NioSocketChannel.class)
        // the observers only answer a query or count: run them on the event loop, no hand-off to
        // a thread pool per message (that was a quarter of this process's CPU)
        .directExecutor()
        .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
          @Override
          public SocketAddress createSocketAddress(SocketAddress remote, io.grpc.Attributes attrs) {
            return source;
          }
        })
        .build();
  }

  /** The servers' heap used after a full GC and their RSS, in bytes, summed over the nodes. */
  private static long[] memory(long[] pids) throws Exception {
    long[] sum = new long[2];
    for (long pid : pids) {
      long[] m = memory(pid);
      sum[0] += m[0];
      sum[1] += m[1];
    }
    return sum;
  }

  /** One server's heap used after a full GC and its RSS, in bytes. */
  private static long[] memory(long pid) throws Exception {
    run("jcmd", Long.toString(pid), "GC.run");
    String info = run("jcmd", Long.toString(pid), "GC.heap_info");
    // G1: "garbage-first heap   total 1048576K, used 16384K"; ZGC: "ZHeap used 90M, capacity ..."
    Matcher m = Pattern.compile("used (\\d+)([KMG])").matcher(info);
    long heap = m.find() ? Long.parseLong(m.group(1)) << switch (m.group(2)) {
      case "K" -> 10;
      case "M" -> 20;
      default -> 30;
    } : -1;
    long rss = -1;
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        rss = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
      }
    }
    return new long[] {heap, rss};
  }

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor(60, TimeUnit.SECONDS);
    return out;
  }
}
