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

  @Test
  void expiredIdsFreeTheirCallersRoomWhileYoungerOnesStayUsable() {
    MutableClock clock = new MutableClock();
    ListenerTickets t = new ListenerTickets(clock, Duration.ofSeconds(120), 100_000);
    Address caller = Address.parse("alice@example.com");
    Address bob = Address.parse("bob@example.com");
    for (int i = 0; i < ListenerTickets.MAX_PER_CALLER - 1; i++) {
      t.activate(new ListenerTicket(t.newId(), caller, bob, "file", null, t.expiryFromNow(), UdpCandidates.NONE));
    }
    clock.advance(Duration.ofSeconds(60));
    String young = t.newId();
    t.activate(new ListenerTicket(young, caller, bob, "file", null, t.expiryFromNow(), UdpCandidates.NONE));
    assertThatThrownBy(() -> t.requireRoom(caller, 1)) // at its limit: refused
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getDescription()).contains("holds 1024 unused listener ids"));
    t.requireRoom(Address.parse("carol@example.com"), 1); // others are not

    clock.advance(Duration.ofSeconds(61)); // the first ones expired, the young one has 59 s left
    t.requireRoom(caller, ListenerTickets.MAX_PER_CALLER - 1);
    assertThat(t.size()).isEqualTo(1);
    assertThat(t.consume(young, caller).id()).isEqualTo(young);
    assertThatThrownBy(() -> t.consume(young, caller)) // single use
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    t.requireRoom(caller, ListenerTickets.MAX_PER_CALLER);
  }
}
