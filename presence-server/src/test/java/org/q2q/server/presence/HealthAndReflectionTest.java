package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.RevocationGrpc;
import org.q2q.server.LoopbackServer;

/**
 * The standard gRPC health service and server reflection on a real server's TLS port, called as
 * generic tools call them: without a client certificate.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthAndReflectionTest {
  private final TlsChannels channels = new TlsChannels();
  private LoopbackServer server;

  @AfterEach
  void stop() throws Exception {
    channels.close();
    if (server != null) {
      server.close();
    }
  }

  private static ServingStatus check(ManagedChannel ch, String service) {
    return HealthGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  @Test
  void healthIsServingWithoutAClientCertificateAndNotServingAsSoonAsTheServerStops() throws Exception {
    // a long grace: an open Watch must not make the server wait for it
    server = LoopbackServer.start("example.com", b -> b.shutdownGrace(Duration.ofSeconds(30)));
    ManagedChannel anonymous = channels.open(server.server(), null);

    assertThat(check(anonymous, "")).isEqualTo(ServingStatus.SERVING);
    for (String service : List.of(PresenceGrpc.SERVICE_NAME, RegistrationGrpc.SERVICE_NAME,
        RevocationGrpc.SERVICE_NAME)) {
      assertThat(check(anonymous, service)).as(service).isEqualTo(ServingStatus.SERVING);
    }
    assertThatThrownBy(() -> check(anonymous, "q2q.v1.NoSuchService"))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

    // a watcher (as gRPC's client-side health checking holds one) sees the change before the port closes
    BlockingQueue<ServingStatus> seen = new LinkedBlockingQueue<>();
    CompletableFuture<Status> watchEnded = new CompletableFuture<>();
    HealthGrpc.newStub(anonymous).watch(HealthCheckRequest.newBuilder().setService("").build(),
        new StreamObserver<>() {
          @Override
          public void onNext(HealthCheckResponse r) {
            seen.add(r.getStatus());
          }

          @Override
          public void onError(Throwable t) {
            watchEnded.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            watchEnded.complete(Status.OK);
          }
        });
    assertThat(seen.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.SERVING);

    ManagedChannel later = channels.open(server.server(), null); // connects on its first call, after the close
    long t0 = System.nanoTime();
    server.server().close();
    long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

    assertThat(seen.poll(10, TimeUnit.SECONDS)).isEqualTo(ServingStatus.NOT_SERVING);
    Status end = watchEnded.get(10, TimeUnit.SECONDS);
    assertThat(end.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(closeMillis).as("close waited for the Watch stream").isLessThan(10_000);
    // the port is closed now: a probe fails with UNAVAILABLE, as a probe of a dead node does
    assertThatThrownBy(() -> check(later, ""))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  void reflectionListsAndDescribesTheServicesWithoutAClientCertificate() throws Exception {
    server = LoopbackServer.start("example.com", b -> {});
    ManagedChannel anonymous = channels.open(server.server(), null);

    ServerReflectionResponse listed = reflect(anonymous,
        ServerReflectionRequest.newBuilder().setListServices("").build());
    assertThat(listed.getListServicesResponse().getServiceList()).extracting(ServiceResponse::getName)
        .contains(PresenceGrpc.SERVICE_NAME, RegistrationGrpc.SERVICE_NAME, RevocationGrpc.SERVICE_NAME,
            "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection");

    ServerReflectionResponse described = reflect(anonymous,
        ServerReflectionRequest.newBuilder().setFileContainingSymbol(PresenceGrpc.SERVICE_NAME).build());
    assertThat(described.getFileDescriptorResponse().getFileDescriptorProtoCount()).isPositive();
    com.google.protobuf.DescriptorProtos.FileDescriptorProto file =
        com.google.protobuf.DescriptorProtos.FileDescriptorProto.parseFrom(
            described.getFileDescriptorResponse().getFileDescriptorProto(0));
    assertThat(file.getServiceList()).extracting(s -> s.getName()).contains("Presence");

    // the older v1alpha protocol, which some tools still ask for first
    @SuppressWarnings("deprecation")
    io.grpc.reflection.v1alpha.ServerReflectionResponse alpha = reflectAlpha(anonymous);
    assertThat(alpha.getListServicesResponse().getServiceList())
        .extracting(io.grpc.reflection.v1alpha.ServiceResponse::getName)
        .contains(PresenceGrpc.SERVICE_NAME, "grpc.health.v1.Health");
  }

  private static ServerReflectionResponse reflect(ManagedChannel ch, ServerReflectionRequest request)
      throws Exception {
    FirstAnswer<ServerReflectionResponse> answer = new FirstAnswer<>();
    StreamObserver<ServerReflectionRequest> out = ServerReflectionGrpc.newStub(ch)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .serverReflectionInfo(answer);
    out.onNext(request);
    out.onCompleted();
    return answer.get();
  }

  /** The first message of a stream (or its error). */
  private static final class FirstAnswer<T> implements StreamObserver<T> {
    private final CompletableFuture<T> answer = new CompletableFuture<>();

    @Override
    public void onNext(T r) {
      answer.complete(r);
    }

    @Override
    public void onError(Throwable t) {
      answer.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {}

    T get() throws Exception {
      return answer.get(10, TimeUnit.SECONDS);
    }
  }

  @SuppressWarnings("deprecation")
  private static io.grpc.reflection.v1alpha.ServerReflectionResponse reflectAlpha(ManagedChannel ch)
      throws Exception {
    FirstAnswer<io.grpc.reflection.v1alpha.ServerReflectionResponse> answer = new FirstAnswer<>();
    StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> out =
        io.grpc.reflection.v1alpha.ServerReflectionGrpc.newStub(ch)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .serverReflectionInfo(answer);
    out.onNext(io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder().setListServices("").build());
    out.onCompleted();
    return answer.get();
  }
}
