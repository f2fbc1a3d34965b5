package org.q2q.server.internal.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.q2q.certstore.ServiceName;

/** The service-name rule of {@link ServiceName} (the same as the client's), as gRPC statuses. */
public final class ServiceNames {
  /** Longest service name accepted, in characters. */
  public static final int MAX_LENGTH = ServiceName.MAX_LENGTH;

  private ServiceNames() {}

  /**
   * Returns {@code name} if acceptable.
   *
   * @throws StatusRuntimeException INVALID_ARGUMENT saying what is wrong with it
   */
  public static String check(String name) {
    if (name == null) {
      throw Status.INVALID_ARGUMENT.withDescription("service name is missing").asRuntimeException();
    }
    try {
      return ServiceName.check(name);
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
  }
}
