namespace Ferry.Bench.WanEmu;

/// <summary>A packet waiting for its delivery time; <paramref name="Buffer"/> is a pooled array.</summary>
internal readonly record struct ScheduledPacket(byte[] Buffer, int Length, long Due);
