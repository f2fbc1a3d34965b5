package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;

/**
 * A blocking output that takes Netty buffers whole, for callers that fill direct buffers
 * themselves (the file sender reads a file straight into them) and would otherwise pay one more
 * copy through {@link java.io.OutputStream#write(byte[], int, int)}.
 */
public interface ByteBufOutput {
  /** The allocator whose buffers this output prefers (direct, pooled). */
  ByteBufAllocator alloc();

  /**
   * Writes {@code buf}'s readable bytes after everything written before, blocking as the stream's
   * byte writes do while too much is outstanding.
   *
   * @param buf passes to this output, which releases it once sent, on failure, or when it throws
   */
  void write(ByteBuf buf) throws IOException;
}
