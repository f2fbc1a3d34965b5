package org.q2q.server.internal.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.Address;
import org.q2q.server.MutableClock;

/** M7: listener ids are capped for the whole server, not only per caller. */
class ListenerTicketsTest {
  @Test
  void theServerWideCapRefusesEveryCallerUntilIdsExpire() {
    MutableClock clock = new MutableClock();
    ListenerTickets t = new ListenerTickets(clock, Duration.ofSeconds(120), 10);
    for (int i = 0; i < 10; i++) {
      Address caller = Address.parse("c" + i + "@example.com"); // ten callers, one id each
      t.requireRoom(caller, 1);
      t.activate(new ListenerTicket(t.newId(), caller, Address.parse("bob@example.com"), "file", null,
          t.expiryFromNow(), UdpCandidates.NONE));
    }
    assertThatThrownBy(() -> t.requireRoom(Address.parse("new@example.com"), 1))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    clock.advance(Duration.ofSeconds(121));
    t.requireRoom(Address.parse("new@example.com"), 1); // expired ones are swept to make room
    assertThat(t.size()).isZero();
  }
}
