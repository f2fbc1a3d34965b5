package org.q2q.client.internal.accept;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.Address;
import org.q2q.server.MutableClock;

/** Accepted listener ids: single use, bound to one peer, expiring, bounded in number. */
class ListenerIdsTest {
  private static final Address ALICE = Address.parse("alice@a.test");
  private static final Address MALLORY = Address.parse("mallory@a.test");
  private final MutableClock clock = new MutableClock();
  private final ListenerIds ids = new ListenerIds(clock);

  @Test
  void anIdServesItsPeerOnceAndNobodyElse() {
    assertThat(ids.offer("L1", ALICE, "file")).isTrue();
    assertThat(ids.peek("L1", MALLORY)).isNull();
    assertThat(ids.claim("L1", MALLORY)).isEqualTo("the listener id was issued to another address");
    assertThat(ids.peek("L1", ALICE)).isNotNull();
    assertThat(ids.claim("L1", ALICE)).isNull();
    assertThat(ids.claim("L1", ALICE)).isEqualTo("unknown or already used listener id");
    assertThat(ids.claim("", ALICE)).startsWith("no listener id");
  }

  @Test
  void anIdExpiresAfterItsLifetime() {
    ids.offer("L1", ALICE, "file");
    clock.advance(ListenerIds.DEFAULT_LIFETIME.plus(Duration.ofMillis(1)));
    assertThat(ids.isPending("L1")).isFalse();
    assertThat(ids.claim("L1", ALICE)).isEqualTo("expired listener id");
  }

  @Test
  void pendingIdsAreBoundedAndExpiredOnesMakeRoom() {
    for (int i = 0; i < ListenerIds.MAX_PENDING; i++) {
      assertThat(ids.offer("L" + i, ALICE, "file")).isTrue();
    }
    assertThat(ids.offer("one-more", ALICE, "file")).isFalse();
    clock.advance(ListenerIds.DEFAULT_LIFETIME.plus(Duration.ofSeconds(1)));
    assertThat(ids.offer("one-more", ALICE, "file")).isTrue();
  }

  @Test
  void anIdLivesAsLongAsTheServerHonoursIt() {
    ids.offer("short", ALICE, "file", java.util.List.of(), 5_000);
    ids.offer("long", ALICE, "file", java.util.List.of(), 90_000);
    ids.offer("too-long", ALICE, "file", java.util.List.of(), Duration.ofDays(1).toMillis());
    clock.advance(Duration.ofMillis(5_001));
    assertThat(ids.claim("short", ALICE)).isEqualTo("expired listener id");
    clock.advance(Duration.ofSeconds(80)); // 85 s: past the old fixed 60 s, within the server's 90 s
    assertThat(ids.isPending("long")).isTrue();
    clock.advance(ListenerIds.MAX_LIFETIME);
    assertThat(ids.isPending("too-long")).isFalse(); // capped: the server cannot make ids immortal
  }
}
