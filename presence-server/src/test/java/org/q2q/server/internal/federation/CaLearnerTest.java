package org.q2q.server.internal.federation;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.server.DomainCas;

/** Limits of CA learning against real (silent) sockets on 127.0.0.1. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CaLearnerTest {
  @Test
  void concurrentLookupsAreCappedAndFailuresAreRemembered() throws Exception {
    // a server that accepts TCP (kernel backlog) and never answers the TLS handshake
    try (ServerSocket silent = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
      DomainCas cas = new DomainCas(CertificateAuthority.create(Address.ofDomain("b.test"), Clock.systemUTC()),
          Clock.systemUTC());
      CaLearner learner = new CaLearner(cas, null,
          d -> InetSocketAddress.createUnresolved("127.0.0.1", silent.getLocalPort()),
          Clock.systemUTC(), Duration.ofMillis(1500));
      List<CompletableFuture<X509Certificate>> running = new ArrayList<>();
      for (int i = 0; i < CaLearner.MAX_CONCURRENT_LOOKUPS; i++) {
        running.add(learner.caFor("slow" + i + ".test"));
      }
      assertThat(running).noneMatch(CompletableFuture::isDone);
      // the same domain shares the running lookup; a new one is refused at once
      assertThat(learner.caFor("slow0.test")).isSameAs(running.get(0));
      CompletableFuture<X509Certificate> refused = learner.caFor("one-more.test");
      assertThat(refused).isCompletedExceptionally();
      assertThat(statusOf(refused).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(statusOf(refused).getDescription()).contains("one-more.test").contains("too many");

      // the silent server makes each lookup fail at its deadline, naming the domain
      Status first = statusOf(running.get(0));
      assertThat(first.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(first.getDescription()).contains("slow0.test");
      // and a failure is answered from memory for a while, without connecting again
      CompletableFuture<X509Certificate> again = learner.caFor("slow0.test");
      assertThat(again).isCompletedExceptionally();
      assertThat(statusOf(again).getDescription()).contains("a recent lookup failed");
      assertThat(cas.caFor("slow0.test")).isEmpty();
    }
  }

  private static Status statusOf(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(20, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return Status.fromThrowable(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no answer", e);
    }
  }

  @Test
  void oneClientNetworkMayStartOnlyAFewLookups() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 64, InetAddress.getLoopbackAddress())) {
      DomainCas cas = new DomainCas(CertificateAuthority.create(Address.ofDomain("b.test"), Clock.systemUTC()),
          Clock.systemUTC());
      CaLearner learner = new CaLearner(cas, null,
          d -> InetSocketAddress.createUnresolved("127.0.0.1", silent.getLocalPort()),
          Clock.systemUTC(), Duration.ofMillis(500));
      for (int i = 0; i < CaLearner.LOOKUP_BURST; i++) {
        assertThat(learner.caFor("d" + i + ".test", "192.0.2.1")).isNotCompletedExceptionally();
      }
      CompletableFuture<X509Certificate> refused = learner.caFor("one-more.test", "192.0.2.1");
      assertThat(statusOf(refused).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(statusOf(refused).getDescription()).contains("192.0.2.1");
      // another network is not affected
      assertThat(learner.caFor("one-more.test", "192.0.2.2")).isNotCompletedExceptionally();
    }
  }

  @Test
  void learnedDomainsAreCapped() throws Exception {
    DomainCas cas = new DomainCas(CertificateAuthority.create(Address.ofDomain("b.test"), Clock.systemUTC()),
        Clock.systemUTC());
    cas.learn("known.test", CertificateAuthority.create(Address.ofDomain("known.test"), Clock.systemUTC()).certificate());
    CaLearner learner = new CaLearner(cas, null, d -> InetSocketAddress.createUnresolved("127.0.0.1", 1),
        Clock.systemUTC(), Duration.ofMillis(500), h -> new InetAddress[0], 1);
    Status s = statusOf(learner.caFor("new.test", "192.0.2.1"));
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(s.getDescription()).contains("as many other domains as it may");
  }

  @Test
  void aPinnedCaIsReadOffTheCallersThread(@TempDir java.nio.file.Path dir) throws Exception {
    X509Certificate otherCa = CertificateAuthority.create(Address.ofDomain("pinned.test"), Clock.systemUTC())
        .certificate();
    CaPinStore store = new CaPinStore(dir);
    store.verifyOrPin("pinned.test", otherCa, null);
    CountDownLatch databaseSlow = new CountDownLatch(1);
    org.q2q.certstore.CaPins slowPins = new org.q2q.certstore.CaPins() { // a database that takes its time
      @Override
      public java.util.Optional<X509Certificate> get(String domain) throws java.io.IOException {
        try {
          databaseSlow.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return store.get(domain);
      }

      @Override
      public boolean verifyOrPin(String domain, X509Certificate ca, Fingerprint expected) {
        throw new UnsupportedOperationException();
      }

      @Override
      public java.util.SortedMap<String, X509Certificate> all() throws java.io.IOException {
        return store.all();
      }

      @Override
      public boolean forget(String domain) throws java.io.IOException {
        return store.forget(domain);
      }
    };
    DomainCas cas = new DomainCas(CertificateAuthority.create(Address.ofDomain("b.test"), Clock.systemUTC()),
        Clock.systemUTC());
    CaLearner learner = new CaLearner(cas, slowPins, d -> InetSocketAddress.createUnresolved("127.0.0.1", 1),
        Clock.systemUTC(), Duration.ofMillis(500));

    // the call returns at once (an event loop may be the caller), the answer comes with the read
    CompletableFuture<X509Certificate> ca = learner.caFor("pinned.test", "192.0.2.1");
    assertThat(ca).isNotDone();
    assertThat(learner.caFor("pinned.test", "192.0.2.1")).isSameAs(ca); // one read for concurrent callers
    databaseSlow.countDown();
    assertThat(ca.get(10, TimeUnit.SECONDS)).isEqualTo(otherCa);
    // and from then on from memory
    assertThat(learner.caFor("pinned.test", "192.0.2.1")).isCompletedWithValue(otherCa);
    assertThat(cas.caFor("pinned.test")).contains(otherCa);
  }
}
