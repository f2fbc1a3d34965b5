package org.q2q.client.internal.connect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.q2q.client.Route;
import org.q2q.client.Transport;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.Listener;
import org.q2q.proto.RelayMethod;
import org.q2q.proto.ReverseTcpMethod;

class MethodPlannerTest {
  private static ConnectPlan<String> plan(Route route) {
    return new ConnectPlan<>() {
      @Override
      public Route route() {
        return route;
      }

      @Override
      public CompletableFuture<String> attempt() {
        return new CompletableFuture<>();
      }

      @Override
      public void cancel() {}
    };
  }

  /** A fake method of {@code kind}, planning a named route per advertised method. */
  private static ConnectMethod<String> method(ConnectionMethod.KindCase advertised, Route.Kind kind, int tier,
      boolean passive) {
    return new ConnectMethod<>() {
      @Override
      public ConnectionMethod.KindCase advertised() {
        return advertised;
      }

      @Override
      public Route.Kind kind() {
        return kind;
      }

      @Override
      public int tier() {
        return tier;
      }

      @Override
      public boolean passive() {
        return passive;
      }

      @Override
      public ConnectPlan<String> plan(Listener l, ConnectionMethod m) {
        return MethodPlannerTest.plan(new Route(kind, l.getId() + " " + MethodPlanner.describe(m)));
      }
    };
  }

  private static final List<ConnectMethod<String>> ALL = List.of(
      method(ConnectionMethod.KindCase.TCP, Route.Kind.TCP, 0, false),
      method(ConnectionMethod.KindCase.PTCP, Route.Kind.PTCP, 1, false),
      method(ConnectionMethod.KindCase.REVERSE_TCP, Route.Kind.REVERSE_TCP, 0, true),
      method(ConnectionMethod.KindCase.RELAY, Route.Kind.RELAY, 2, false));

  private static ConnectionMethod tcp(String host, int port) {
    return ConnectionMethod.newBuilder().setTcp(HostPort.newBuilder().setHost(host).setPort(port)).build();
  }

  private static final ConnectionMethod RELAY = ConnectionMethod.newBuilder().setRelay(RelayMethod.getDefaultInstance()).build();
  private static final ConnectionMethod REVERSE =
      ConnectionMethod.newBuilder().setReverseTcp(ReverseTcpMethod.getDefaultInstance()).build();

  private static List<String> timeline(MethodPlanner.Planned<String> p) {
    return p.entries().stream().map(e -> e.delayMillis() + " " + e.plan().route().via()).toList();
  }

  @Test
  void directAddressesGoFirstInHappyEyeballsOrderTheRelayAfterOneSoftTimeout() {
    Listener l = Listener.newBuilder().setId("L")
        .addMethods(RELAY)
        .addMethods(tcp("203.0.113.7", 9000))
        .addMethods(tcp("10.0.0.5", 9000))
        .addMethods(tcp("fd00::5", 9000))
        .addMethods(tcp("127.0.0.1", 9000))
        .addMethods(REVERSE)
        .build();
    MethodPlanner.Planned<String> p = MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.AUTO);
    assertThat(timeline(p)).containsExactly(
        "0 L tcp 127.0.0.1:9000",
        "25 L tcp [fd00::5]:9000",
        "50 L tcp 10.0.0.5:9000",
        "75 L tcp 203.0.113.7:9000",
        "250 L relay",
        "0 L reverse tcp");
    assertThat(p.skipped()).isEmpty();
  }

  @Test
  void ptcpStartsAfterOneSoftTimeoutAndPushesTheRelayToTheNext() {
    Listener l = Listener.newBuilder().setId("L").addMethods(RELAY).addMethods(tcp("10.0.0.5", 1))
        .addMethods(ConnectionMethod.newBuilder().setPtcp(HostPort.newBuilder().setHost("203.0.113.9").setPort(2)))
        .build();
    assertThat(timeline(MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.AUTO)))
        .containsExactly("0 L tcp 10.0.0.5:1", "500 L relay", "250 L ptcp 203.0.113.9:2");
    assertThat(timeline(MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.PTCP)))
        .containsExactly("0 L ptcp 203.0.113.9:2");
  }

  @Test
  void unusableMethodsAreListedAndUnknownKindsIgnored() {
    Listener l = Listener.newBuilder().setId("L1")
        .addMethods(ConnectionMethod.getDefaultInstance()) // a kind from a newer version: no field set
        .addMethods(RELAY)
        .addMethods(ConnectionMethod.newBuilder().setRptcp(HostPort.newBuilder().setHost("10.0.0.1").setPort(9)))
        .build();
    MethodPlanner.Planned<String> p = MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.AUTO);

    assertThat(timeline(p)).containsExactly("0 L1 relay"); // alone, the relay needs no head start to yield
    assertThat(p.skipped()).containsExactly("rptcp 10.0.0.1:9: not supported by this client yet");
  }

  @Test
  void theTransportChoiceLeavesOutWhatItExcludesAndSaysSo() {
    Listener l = Listener.newBuilder().setId("L").addMethods(tcp("10.0.0.5", 1)).addMethods(REVERSE)
        .addMethods(RELAY).build();
    assertThat(timeline(MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.RELAY))).containsExactly("0 L relay");
    assertThat(MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.RELAY).skipped())
        .containsExactly("tcp 10.0.0.5:1: not used with transport relay", "reverse tcp: not used with transport relay");
    assertThat(timeline(MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.DIRECT)))
        .containsExactly("0 L tcp 10.0.0.5:1", "0 L reverse tcp");
  }

  @Test
  void everyListenerKeepsItsOrderAndItsOwnStagger() {
    Listener a = Listener.newBuilder().setId("A").addMethods(tcp("10.0.0.1", 1)).addMethods(RELAY).build();
    Listener b = Listener.newBuilder().setId("B").addMethods(tcp("10.0.0.2", 1)).addMethods(RELAY).build();
    MethodPlanner.Planned<String> p = MethodPlanner.plan(List.of(a, b), 250, 25, ALL, Transport.AUTO);
    assertThat(timeline(p)).containsExactly("0 A tcp 10.0.0.1:1", "250 A relay", "0 B tcp 10.0.0.2:1", "250 B relay");
  }

  @Test
  void aHostileAnswerCannotMakeUsOpenThousandsOfAttempts() {
    Listener.Builder b = Listener.newBuilder().setId("L");
    for (int i = 0; i < 5_000; i++) {
      b.addMethods(RELAY); // duplicates count once
      b.addMethods(tcp("10.0." + (i / 250) + "." + (i % 250 + 1), 80));
    }
    List<Listener> many = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      many.add(b.setId("L" + i).build());
    }
    MethodPlanner.Planned<String> p = MethodPlanner.plan(many, 250, 25, ALL, Transport.AUTO);
    // per listener: 8 addresses and the relay, which many addresses never crowd out
    assertThat(p.entries()).hasSize(MethodPlanner.MAX_LISTENERS * (MethodPlanner.MAX_PER_KIND + 1));
    assertThat(p.entries().stream().filter(e -> e.plan().route().kind() == Route.Kind.RELAY)).hasSize(8);
    assertThat(p.skipped()).contains("12 more listener(s): at most 8 are tried", "more tcp addresses: at most 8 per listener");
  }

  @Test
  void malformedAddressesAreNotDialed() {
    Listener l = Listener.newBuilder().setId("L").addMethods(tcp("10.0.0.1", 0)).addMethods(tcp("", 5))
        .addMethods(RELAY).build();
    assertThat(timeline(MethodPlanner.plan(List.of(l), 250, 25, ALL, Transport.AUTO))).containsExactly("0 L relay");
  }
}
