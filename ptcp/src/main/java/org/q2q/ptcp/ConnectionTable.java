package org.q2q.ptcp;

/**
 * The endpoint's connections by local connection id: open addressing on the (random, non-zero) id
 * itself, so the lookup for each received datagram boxes nothing and chases no node. Not
 * thread-safe; event-loop only.
 */
final class ConnectionTable {
  /** Ids, 0 for an empty slot; a power of two long, at most half full. */
  private int[] ids = new int[16];
  private PtcpConnection[] conns = new PtcpConnection[16];
  private int size;

  private static int slot(int id, int mask) {
    int h = id * 0x9E3779B9; // spread: ids are random, but tests may pick their own
    return (h ^ h >>> 16) & mask;
  }

  /** The connection with id {@code id}, or null. */
  PtcpConnection get(int id) {
    if (id == 0) {
      return null;
    }
    int mask = ids.length - 1;
    for (int i = slot(id, mask); ; i = (i + 1) & mask) {
      int k = ids[i];
      if (k == id) {
        return conns[i];
      }
      if (k == 0) {
        return null;
      }
    }
  }

  boolean containsKey(int id) {
    return get(id) != null;
  }

  /** Maps non-zero {@code id} to {@code c}, replacing any mapping. */
  void put(int id, PtcpConnection c) {
    if (id == 0) {
      throw new IllegalArgumentException("connection id 0");
    }
    if (2 * (size + 1) > ids.length) {
      grow();
    }
    int mask = ids.length - 1;
    int i = slot(id, mask);
    while (ids[i] != 0 && ids[i] != id) {
      i = (i + 1) & mask;
    }
    if (ids[i] == 0) {
      size++;
    }
    ids[i] = id;
    conns[i] = c;
  }

  /** Removes the mapping of {@code id} if it is {@code c}; returns whether it did. */
  boolean remove(int id, PtcpConnection c) {
    if (id == 0) {
      return false;
    }
    int mask = ids.length - 1;
    int i = slot(id, mask);
    while (ids[i] != id) {
      if (ids[i] == 0) {
        return false;
      }
      i = (i + 1) & mask;
    }
    if (conns[i] != c) {
      return false;
    }
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    int hole = i;
    for (int j = (i + 1) & mask; ids[j] != 0; j = (j + 1) & mask) {
      int home = slot(ids[j], mask);
      boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        ids[hole] = ids[j];
        conns[hole] = conns[j];
        hole = j;
      }
    }
    ids[hole] = 0;
    conns[hole] = null;
    size--;
    return true;
  }

  private void grow() {
    int[] oldIds = ids;
    PtcpConnection[] oldConns = conns;
    ids = new int[oldIds.length * 2];
    conns = new PtcpConnection[oldIds.length * 2];
    size = 0;
    for (int i = 0; i < oldIds.length; i++) {
      if (oldIds[i] != 0) {
        put(oldIds[i], oldConns[i]);
      }
    }
  }
}
