package org.q2q.server.internal.metrics;

import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.q2q.server.StunStats;

/**
 * The server's metrics, in one registry of its own (not the Prometheus client's global one, so that
 * several servers in one JVM, as in tests, keep theirs apart). The components that count get this
 * object from the server; {@link MetricsEndpoint} serves it when the administrator asks for it.
 *
 * <ul>
 *   <li>events are counters with their label values bound once, at construction ({@link EnumMap}s
 *       of data points), so counting on a hot path (a relay chunk) is one {@code LongAdder} add,
 *       without allocation, label lookup or exemplar sampling; the Inbound histogram binds a result
 *       other than "ok" on its first use instead (16 lines per result: only those that happen show);
 *   <li>what a component already keeps (open connections, Listen sessions, STUN counters) is read
 *       when scraped, through a supplier it hands over, so it is not counted twice;
 *   <li>{@link #watchLiveNodes} (or {@link #setLiveNodes}) is the hook for the node directory
 *       ({@code q2q_nodes_live}; 1, this node, until something says otherwise).
 * </ul>
 * Names follow the Prometheus conventions: the {@code q2q_} prefix, base units (seconds, bytes),
 * {@code _total} on counters. Safe for concurrent use.
 */
public final class ServerMetrics {
  /** How a call ended, as a metric label: the gRPC status, in words an operator reads. */
  public enum Outcome {
    OK, NOT_FOUND, DENIED, TIMEOUT, UNAVAILABLE, REFUSED, INVALID, UNAUTHENTICATED, CANCELLED, ERROR;

    final String label = name().toLowerCase(Locale.ROOT);

    /**
     * The outcome of a call that ended with {@code code}: PERMISSION_DENIED is "denied",
     * RESOURCE_EXHAUSTED "refused" (a limit), INVALID_ARGUMENT and FAILED_PRECONDITION "invalid",
     * DEADLINE_EXCEEDED "timeout", codes no q2q service returns on purpose "error".
     */
    public static Outcome of(Status.Code code) {
      return switch (code) {
        case OK -> OK;
        case NOT_FOUND -> NOT_FOUND;
        case PERMISSION_DENIED -> DENIED;
        case DEADLINE_EXCEEDED -> TIMEOUT;
        case UNAVAILABLE -> UNAVAILABLE;
        case RESOURCE_EXHAUSTED -> REFUSED;
        case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> INVALID;
        case UNAUTHENTICATED -> UNAUTHENTICATED;
        case CANCELLED -> CANCELLED;
        default -> ERROR;
      };
    }
  }

  /** Why the server refused work: which limit was reached. */
  public enum Refusal {
    /** A client network had its maximum of TCP connections open ({@code ConnectionLimits}). */
    CONNECTIONS_PER_NETWORK,
    /** The server had its maximum of TCP connections open. */
    CONNECTIONS_TOTAL,
    /** An address had its maximum of Listen streams open ({@code ListenLimits}). */
    LISTEN_SESSIONS_PER_ADDRESS,
    /** The server had its maximum of Listen streams open. */
    LISTEN_SESSIONS_TOTAL,
    /** A Listen client did not read what the server had for it (outbound budget or stall timeout). */
    LISTEN_NOT_READING,
    /** An Inbound would have passed the caller's or the server's cap of unused listener ids. */
    LISTENER_IDS,
    /** An address had its maximum of relay streams open ({@code RelayLimits}). */
    RELAY_STREAMS_PER_ADDRESS,
    /** The relay had its maximum of streams open. */
    RELAY_STREAMS_TOTAL,
    /** The relay had its maximum of streams whose caller or hello was not known yet. */
    RELAY_STREAMS_ANONYMOUS,
    /** A relay frame would have passed an in-flight byte cap (the address's or the server's), or its size cap. */
    RELAY_BYTES,
    /** A client network's Sign attempt rate ({@code RegistrationLimits}). */
    SIGN_RATE,
    /** The registration executor was full (password hashing is bounded). */
    SIGN_BUSY,
    /** Too many failed passwords for an address or from a network. */
    PASSWORD_FAILURES,
    /** A client network's account-creation rate. */
    ACCOUNT_CREATION_RATE;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  /** How relayed bytes travel through the server. */
  public enum RelayTransport {
    /** The relay socket (TCP spliced byte for byte). */
    SOCKET,
    /** The Relay RPC (gRPC frames). */
    RPC;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  /** Upper bounds of the Inbound latency histogram, in seconds: a LAN round trip to a slow phone. */
  private static final double[] INBOUND_SECONDS =
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Map<Outcome, CounterDataPoint> inboundCalls = new EnumMap<>(Outcome.class);
  private final Histogram inboundTime;
  /** Bound on first use, by outcome ordinal. */
  private final AtomicReferenceArray<DistributionDataPoint> inboundSeconds =
      new AtomicReferenceArray<>(Outcome.values().length);
  private final Map<Outcome, CounterDataPoint> signs = new EnumMap<>(Outcome.class);
  private final CounterDataPoint accountsCreated;
  private final Map<Refusal, CounterDataPoint> refusals = new EnumMap<>(Refusal.class);
  private final Map<RelayTransport, GaugeDataPoint> relayPairsActive = new EnumMap<>(RelayTransport.class);
  private final Map<RelayTransport, CounterDataPoint> relayPairs = new EnumMap<>(RelayTransport.class);
  /** Bytes relayed by transport; [0] toward the listener, [1] toward the connector. */
  private final Map<RelayTransport, CounterDataPoint[]> relayBytes = new EnumMap<>(RelayTransport.class);
  private final Info info;

  private volatile IntSupplier liveNodes = () -> 1;
  private volatile IntSupplier openConnections = () -> 0;
  private volatile IntSupplier listenSessions = () -> 0;
  private volatile IntSupplier listenServices = () -> 0;
  private volatile Supplier<StunStats> stun = () -> null;

  public ServerMetrics() {
    GaugeWithCallback.builder()
        .name("q2q_nodes_live")
        .help("Live presence-server nodes of this domain, as this node sees them")
        .callback(cb -> cb.call(liveNodes.getAsInt()))
        .register(registry);

    GaugeWithCallback.builder()
        .name("q2q_connections")
        .help("TCP connections open on the gRPC port")
        .callback(cb -> cb.call(openConnections.getAsInt()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("q2q_listen_sessions")
        .help("Listen sessions (listening clients) open on this node")
        .callback(cb -> cb.call(listenSessions.getAsInt()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("q2q_listen_services")
        .help("Services offered by the open Listen sessions (one per session and service)")
        .callback(cb -> cb.call(listenServices.getAsInt()))
        .register(registry);

    Counter inbound = counter("q2q_inbound_calls", "Inbound calls answered, by result", "result");
    inboundTime = (Histogram) Histogram.builder()
        .name("q2q_inbound_duration_seconds")
        .unit(Unit.SECONDS)
        .help("Time from an Inbound call to its answer (the listeners' round trip), by result")
        .labelNames("result")
        .classicOnly()
        .classicUpperBounds(INBOUND_SECONDS)
        .withoutExemplars()
        .register(registry);
    Counter sign = counter("q2q_registrations", "Sign calls (register, renew, change password), by result",
        "result");
    for (Outcome o : Outcome.values()) {
      inboundCalls.put(o, inbound.labelValues(o.label));
      signs.put(o, sign.labelValues(o.label));
    }
    // the answered series from the start, so the histogram is there before the first Inbound
    inboundSeconds.set(Outcome.OK.ordinal(), inboundTime.labelValues(Outcome.OK.label));
    accountsCreated = counter("q2q_accounts_created", "Accounts created by open registration");

    Counter refused = counter("q2q_refusals", "Work refused because a limit was reached, by limit", "reason");
    for (Refusal r : Refusal.values()) {
      refusals.put(r, refused.labelValues(r.label));
    }

    Gauge active = Gauge.builder()
        .name("q2q_relay_pairs_active")
        .help("Relays spliced now (a connector and a listener joined), by transport")
        .labelNames("transport")
        .register(registry);
    Counter pairs = counter("q2q_relay_pairs", "Relays spliced since the start, by transport", "transport");
    Counter bytes = (Counter) Counter.builder()
        .name("q2q_relay_bytes_total")
        .unit(Unit.BYTES)
        .help("Bytes relayed, by transport and direction")
        .labelNames("transport", "direction")
        .withoutExemplars()
        .register(registry);
    for (RelayTransport t : RelayTransport.values()) {
      relayPairsActive.put(t, active.labelValues(t.label));
      relayPairs.put(t, pairs.labelValues(t.label));
      relayBytes.put(t, new CounterDataPoint[] {
          bytes.labelValues(t.label, "to_listener"), bytes.labelValues(t.label, "to_connector")});
    }

    CounterWithCallback.builder()
        .name("q2q_stun_requests_total")
        .help("Datagrams received on the UDP (STUN) port, by what became of them")
        .labelNames("result")
        .callback(cb -> {
          StunStats s = stun.get();
          if (s != null) {
            cb.call(s.answers(), "answered");
            cb.call(s.rateLimited(), "rate_limited");
            cb.call(s.dropped(), "dropped");
          }
        })
        .register(registry);

    info = Info.builder()
        .name("q2q_server_info")
        .help("The domain this node serves and the fingerprint of its CA")
        .labelNames("domain", "ca_fingerprint")
        .register(registry);
  }

  private Counter counter(String name, String help, String... labels) {
    return (Counter) Counter.builder()
        .name(name + "_total")
        .help(help)
        .labelNames(labels)
        .withoutExemplars()
        .register(registry);
  }

  /** The registry holding every metric of this server (served by {@link MetricsEndpoint}). */
  public PrometheusRegistry registry() {
    return registry;
  }

  /**
   * The node directory's hook: how many nodes of this domain are live now ({@code q2q_nodes_live};
   * 1 until called).
   */
  public void setLiveNodes(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("live nodes cannot be negative: " + n);
    }
    liveNodes = () -> n;
  }

  /** Where {@code q2q_nodes_live} is read when scraped (the node directory's live nodes). */
  public void watchLiveNodes(IntSupplier live) {
    this.liveNodes = Objects.requireNonNull(live);
  }

  /** Names this node: its domain and CA fingerprint ({@code q2q_server_info}). */
  public void identify(String domain, String caFingerprint) {
    info.setLabelValues(domain, caFingerprint);
  }

  /** Where {@code q2q_connections} is read when scraped. */
  public void watchConnections(IntSupplier open) {
    this.openConnections = Objects.requireNonNull(open);
  }

  /** Where {@code q2q_listen_sessions} and {@code q2q_listen_services} are read when scraped. */
  public void watchListeners(IntSupplier sessions, IntSupplier services) {
    this.listenSessions = Objects.requireNonNull(sessions);
    this.listenServices = Objects.requireNonNull(services);
  }

  /** Where {@code q2q_stun_requests_total} is read when scraped (a null snapshot: no UDP port). */
  public void watchStun(Supplier<StunStats> stats) {
    this.stun = Objects.requireNonNull(stats);
  }

  /** An Inbound call ended with {@code outcome} after {@code nanos}. */
  public void inbound(Outcome outcome, long nanos) {
    inboundCalls.get(outcome).inc();
    DistributionDataPoint seconds = inboundSeconds.get(outcome.ordinal());
    if (seconds == null) { // a race binds the same data point twice: harmless
      seconds = inboundTime.labelValues(outcome.label);
      inboundSeconds.set(outcome.ordinal(), seconds);
    }
    seconds.observe(nanos / 1e9);
  }

  /** A Sign call ended with {@code outcome}. */
  public void sign(Outcome outcome) {
    signs.get(outcome).inc();
  }

  /** Open registration created an account. */
  public void accountCreated() {
    accountsCreated.inc();
  }

  /** Work was refused because {@code limit} was reached. */
  public void refused(Refusal limit) {
    refusals.get(limit).inc();
  }

  /** A connector and a listener were spliced over {@code transport}. */
  public void relayStarted(RelayTransport transport) {
    relayPairs.get(transport).inc();
    relayPairsActive.get(transport).inc();
  }

  /** A relay counted by {@link #relayStarted} is over. */
  public void relayEnded(RelayTransport transport) {
    relayPairsActive.get(transport).dec();
  }

  /**
   * The counter of bytes relayed over {@code transport} toward the listener ({@code toListener})
   * or the connector: a relay direction takes it once and adds every chunk to it.
   */
  public CounterDataPoint relayBytes(RelayTransport transport, boolean toListener) {
    return relayBytes.get(transport)[toListener ? 0 : 1];
  }
}
