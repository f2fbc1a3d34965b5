package org.q2q.ptcp.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import java.util.Map;

/**
 * Configuration of a {@link PtcpChannel}: the usual Netty options plus
 * {@link ChannelOption#ALLOW_HALF_CLOSURE} (default false: the channel closes when the peer's FIN has
 * been read). Safe for concurrent use.
 */
public final class PtcpChannelConfig extends DefaultChannelConfig {
  private volatile boolean allowHalfClosure;

  PtcpChannelConfig(Channel channel) {
    super(channel);
  }

  /** Whether the channel stays open after the peer's FIN (half-close). */
  public boolean isAllowHalfClosure() {
    return allowHalfClosure;
  }

  /** Sets whether the channel stays open after the peer's FIN. */
  public PtcpChannelConfig setAllowHalfClosure(boolean on) {
    allowHalfClosure = on;
    return this;
  }

  @Override
  public Map<ChannelOption<?>, Object> getOptions() {
    return getOptions(super.getOptions(), ChannelOption.ALLOW_HALF_CLOSURE);
  }

  @SuppressWarnings("unchecked")
  @Override
  public <T> T getOption(ChannelOption<T> option) {
    if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
      return (T) Boolean.valueOf(allowHalfClosure);
    }
    return super.getOption(option);
  }

  @Override
  public <T> boolean setOption(ChannelOption<T> option, T value) {
    validate(option, value);
    if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
      setAllowHalfClosure((Boolean) value);
      return true;
    }
    return super.setOption(option, value);
  }
}
