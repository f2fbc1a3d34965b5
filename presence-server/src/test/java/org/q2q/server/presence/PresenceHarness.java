package org.q2q.server.presence;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.CertificateRequestException;
import org.q2q.certstore.Identity;
import org.q2q.proto.PresenceGrpc;
import org.q2q.server.CallerIdentity;
import org.q2q.server.DomainCas;

/**
 * The Presence service on the in-process transport (direct executor), for its pure logic. A test
 * interceptor stands in for TLS: the client names its address in a header, the harness presents the
 * chain it issued for that address, and the caller is verified against {@link DomainCas} as the real
 * {@link CallerIdentity} interceptor does. Every server and channel is closed by {@link #close()}.
 */
final class PresenceHarness implements AutoCloseable {
  static final Metadata.Key<String> CALLER = Metadata.Key.of("q2q-test-caller", Metadata.ASCII_STRING_MARSHALLER);

  final MutableClock clock = new MutableClock(Instant.now());
  final CertificateAuthority ca = CertificateAuthority.create(Address.ofDomain("example.com"), clock);
  final CertificateAuthority otherCa = CertificateAuthority.create(Address.ofDomain("other.test"), clock);
  final DomainCas cas = new DomainCas(ca, clock);
  final PresenceService service;
  private final Map<Address, Identity> identities = new ConcurrentHashMap<>();
  private final Server server;
  private final String name = InProcessServerBuilder.generateName();
  private final List<ManagedChannel> channels = new ArrayList<>();

  PresenceHarness(PresenceConfig config) throws IOException {
    this(config, ListenLimits.defaults());
  }

  PresenceHarness(PresenceConfig config, ListenLimits limits) throws IOException {
    service = new PresenceService(cas, config.withFederation(null), clock, null, limits);
    server = InProcessServerBuilder.forName(name)
        .directExecutor()
        .addService(ServerInterceptors.intercept(service, new TestCallerInterceptor()))
        .build()
        .start();
  }

  PresenceHarness() throws IOException {
    this(PresenceConfig.defaults());
  }

  /** The identity issued for {@code address} (by this domain's CA, or by other.test's). */
  Identity identity(String address) {
    return identities.computeIfAbsent(Address.parse(address), a -> {
      try {
        CertificateAuthority issuer = a.domain().equals("other.test") ? otherCa : ca;
        if (a.isDomain()) {
          return issuer.issueServerIdentity(List.of(a.domain()), List.of(), Duration.ofDays(1));
        }
        return issuer.issueIdentity(a, Duration.ofDays(1));
      } catch (CertificateRequestException e) {
        throw new IllegalArgumentException(e);
      }
    });
  }

  /** An async stub calling as {@code address} (null: no certificate). */
  PresenceGrpc.PresenceStub stub(String address) {
    return PresenceGrpc.newStub(channel(address));
  }

  /** A blocking stub calling as {@code address} (null: no certificate). */
  PresenceGrpc.PresenceBlockingStub blocking(String address) {
    return PresenceGrpc.newBlockingStub(channel(address)).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private final Map<String, ManagedChannel> byAddress = new java.util.HashMap<>();

  private synchronized Channel channel(String address) {
    ManagedChannel known = byAddress.get(String.valueOf(address));
    if (known != null) {
      return known;
    }
    ManagedChannel ch = InProcessChannelBuilder.forName(name)
        .directExecutor()
        .intercept(new ClientInterceptor() {
          @Override
          public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> m, CallOptions o, Channel next) {
            return new SimpleForwardingClientCall<>(next.newCall(m, o)) {
              @Override
              public void start(Listener<R> l, Metadata headers) {
                if (address != null) {
                  headers.put(CALLER, address);
                }
                super.start(l, headers);
              }
            };
          }
        })
        .build();
    channels.add(ch);
    byAddress.put(String.valueOf(address), ch);
    return ch;
  }

  /** A Listen stream of {@code address}. */
  TestListener listen(String address) {
    return new TestListener(stub(address));
  }

  @Override
  public synchronized void close() throws InterruptedException {
    service.close();
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Plays the part of CallerIdentity's interceptor, with the chain named by the test header. */
  private final class TestCallerInterceptor implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      String who = headers.get(CALLER);
      Context ctx = Context.current();
      if (who != null) {
        Identity id = identity(who);
        ctx = ctx.withValue(CallerIdentity.CHAIN, id.chain());
        try {
          ctx = ctx.withValue(CallerIdentity.ADDRESS, cas.verify(id.chain()));
        } catch (CertificateException e) {
          // unverified: ADDRESS stays absent, as with the real interceptor
        }
      }
      return Contexts.interceptCall(ctx, call, headers, next);
    }
  }
}
