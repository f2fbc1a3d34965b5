package org.q2q.client.internal.connect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.Listener;
import org.q2q.proto.RelayMethod;

class MethodPlannerTest {
  private static ConnectPlan<String> plan(String name) {
    return new ConnectPlan<>() {
      @Override
      public String method() {
        return name;
      }

      @Override
      public CompletableFuture<String> attempt() {
        return new CompletableFuture<>();
      }

      @Override
      public void cancel() {}
    };
  }

  @Test
  void relayIsPlannedUnusableMethodsAreListedAndUnknownKindsIgnored() {
    Listener l = Listener.newBuilder().setId("L1")
        .addMethods(ConnectionMethod.newBuilder().setTcp(HostPort.newBuilder().setHost("::1").setPort(80)))
        .addMethods(ConnectionMethod.getDefaultInstance()) // a kind from a newer version: no field set
        .addMethods(ConnectionMethod.newBuilder().setRelay(RelayMethod.getDefaultInstance()))
        .addMethods(ConnectionMethod.newBuilder().setPtcp(HostPort.newBuilder().setHost("10.0.0.1").setPort(9)))
        .build();
    MethodPlanner.Planned<String> p = MethodPlanner.plan(List.of(l), 250, x -> plan("relay " + x.getId()));

    assertThat(p.entries()).extracting(e -> e.plan().method()).containsExactly("relay L1");
    assertThat(p.entries().get(0).delayMillis()).isEqualTo(500);
    assertThat(p.skipped()).containsExactly(
        "tcp [::1]:80: not supported by this client yet", "ptcp 10.0.0.1:9: not supported by this client yet");
  }

  @Test
  void everyListenerKeepsItsOrder() {
    Listener a = Listener.newBuilder().setId("A").addMethods(ConnectionMethod.newBuilder().setRelay(RelayMethod.getDefaultInstance())).build();
    Listener b = Listener.newBuilder().setId("B").addMethods(ConnectionMethod.newBuilder().setRelay(RelayMethod.getDefaultInstance())).build();
    MethodPlanner.Planned<String> p = MethodPlanner.plan(List.of(a, b), 250, x -> plan("relay " + x.getId()));
    assertThat(p.entries()).extracting(e -> e.plan().method()).containsExactly("relay A", "relay B");
  }
}
