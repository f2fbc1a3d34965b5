package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAccumulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.KeyPairs;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;
import org.q2q.server.LoopbackServer;
import org.q2q.server.RegistrationLimits;

/**
 * H1, abuse: an anonymous client keeps 64 Sign calls in flight for fresh addresses (each would be
 * an Argon2 hash and a new account). Other users' Listen and Inbound are still served promptly, the
 * registration threads stay within their bound, and few accounts are created.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SignFloodTest {
  private static final int IN_FLIGHT = 64;

  @Test
  void aSignFloodDoesNotSlowOtherUsersListenAndInbound() throws Exception {
    RegistrationLimits limits = RegistrationLimits.defaults();
    try (LoopbackServer server = LoopbackServer.start("example.com", b -> b
            .registrationLimits(limits)
            .presence(PresenceConfig.defaults().withFederation(null)));
        TlsChannels channels = new TlsChannels()) {
      TestListener carol = new TestListener(PresenceGrpc.newStub(
          channels.open(server.server(), server.issueIdentity("carol@example.com"))));
      carol.offer("file");
      PresenceGrpc.PresenceBlockingStub alice = PresenceGrpc.newBlockingStub(
          channels.open(server.server(), server.issueIdentity("alice@example.com")));
      InboundRequest toCarol = InboundRequest.newBuilder().setTo("carol@example.com").setService("file").build();
      alice.withDeadlineAfter(20, TimeUnit.SECONDS).inbound(toCarol); // warm up

      List<SignRequest> requests = new ArrayList<>();
      for (int i = 0; i < IN_FLIGHT; i++) {
        requests.add(SignRequest.newBuilder().setPassword("pw").setCertificationRequest(ByteString.copyFrom(
            CertificationRequest.create(KeyPairs.generate(), Address.parse("flood" + i + "@example.com")))).build());
      }
      List<RegistrationGrpc.RegistrationStub> flooders = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        ManagedChannel ch = channels.open(server.server(), null);
        flooders.add(RegistrationGrpc.newStub(ch));
      }
      AtomicBoolean flooding = new AtomicBoolean(true);
      AtomicInteger inFlight = new AtomicInteger();
      java.util.Map<Status.Code, AtomicInteger> outcomes = new ConcurrentHashMap<>();
      LongAccumulator maxRegistrationThreads = new LongAccumulator(Math::max, 0);
      for (int i = 0; i < IN_FLIGHT; i++) {
        int n = i;
        new Object() {
          void fire() {
            if (!flooding.get()) {
              return;
            }
            inFlight.incrementAndGet();
            flooders.get(n % 4).withDeadlineAfter(30, TimeUnit.SECONDS).sign(requests.get(n), new StreamObserver<>() {
              @Override
              public void onNext(SignResponse r) {}

              @Override
              public void onError(Throwable t) {
                done(Status.fromThrowable(t).getCode());
              }

              @Override
              public void onCompleted() {
                done(Status.Code.OK);
              }

              private void done(Status.Code c) {
                outcomes.computeIfAbsent(c, k -> new AtomicInteger()).incrementAndGet();
                inFlight.decrementAndGet();
                fire();
              }
            });
          }
        }.fire();
      }
      long maxInbound = 0;
      long maxHeartbeat = 0;
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
      int rounds = 0;
      while (System.nanoTime() < until) {
        long t0 = System.nanoTime();
        assertThat(alice.withDeadlineAfter(20, TimeUnit.SECONDS).inbound(toCarol).getListenersCount()).isEqualTo(1);
        long t1 = System.nanoTime();
        assertThat(carol.heartbeat(++rounds).getNonce()).isEqualTo(rounds);
        long t2 = System.nanoTime();
        maxInbound = Math.max(maxInbound, t1 - t0);
        maxHeartbeat = Math.max(maxHeartbeat, t2 - t1);
        maxRegistrationThreads.accumulate(Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("q2q-registration-")).count());
      }
      flooding.set(false);
      Await.until(Duration.ofSeconds(40), "the flood to end", () -> inFlight.get() == 0);
      int refused = outcomes.getOrDefault(Status.Code.RESOURCE_EXHAUSTED, new AtomicInteger()).get();
      int created = outcomes.getOrDefault(Status.Code.OK, new AtomicInteger()).get();
      assertThat(refused).as("refused Sign calls (%s)", outcomes).isGreaterThan(IN_FLIGHT);
      assertThat(created).as("accounts created").isLessThanOrEqualTo(limits.creationBurst() + 1);
      assertThat(maxRegistrationThreads.get()).isLessThanOrEqualTo(limits.threads());
      assertThat(TimeUnit.NANOSECONDS.toMillis(maxInbound)).as("slowest Inbound of %d", rounds).isLessThan(1500);
      assertThat(TimeUnit.NANOSECONDS.toMillis(maxHeartbeat)).as("slowest heartbeat").isLessThan(1500);
    }
  }

}
