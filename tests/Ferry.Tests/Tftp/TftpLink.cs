using Ferry.Protocol.Tftp;

namespace Ferry.Tests.Tftp;

/// <summary>
/// A simulated network between a TFTP client session and the server session its request creates, with a fake clock
/// that jumps straight to the next delivery or wake-up, seeded random loss/duplication/jitter and per-packet hooks.
/// No sockets, no sleeps; every run is bounded in steps so a livelock fails instead of hanging.
/// </summary>
internal sealed class TftpLink
{
    private readonly List<Packet> _inFlight = new();
    private readonly Func<TftpRequest, long, TftpSession> _serverFactory;
    private readonly Random _rng;
    private readonly byte[] _buffer = new byte[TftpLimits.MaxPacketLength];
    private long _seq;

    public TftpLink(Func<long, TftpSession> clientFactory, Func<TftpRequest, long, TftpSession> serverFactory, int seed = 1)
    {
        _serverFactory = serverFactory;
        _rng = new Random(seed);

        // A start far from zero, derived from the seed: code that secretly used the real clock would misbehave.
        Now = 1_000_000_000 + (seed * 7_919L);
        Client = clientFactory(Now);
    }

    public long Now { get; private set; }

    public TftpSession Client { get; }

    public TftpSession? Server { get; private set; }

    public long LatencyMicros { get; set; } = 500;

    /// <summary>Extra random delay in [0, JitterMicros): reorders packets.</summary>
    public long JitterMicros { get; set; }

    public double LossRate { get; set; }

    public double DuplicateRate { get; set; }

    /// <summary>Return true to drop a packet (called once per transmission).</summary>
    public Func<Packet, bool>? Drop { get; set; }

    /// <summary>Every packet transmitted, dropped or not, in order.</summary>
    public List<Packet> Sent { get; } = new();

    public List<TftpEvent> ClientEvents { get; } = new();

    public List<TftpEvent> ServerEvents { get; } = new();

    /// <summary>Called for each server event (e.g. to confirm DataComplete like the shell does).</summary>
    public Action<TftpSession, TftpEvent, long>? OnServerEvent { get; set; }

    public int RequestsSeenByServer { get; private set; }

    /// <summary>Puts a copy of a packet on the wire now, as if it had been delayed in the network.</summary>
    public void Inject(Packet packet, long delayMicros = 0)
    {
        _inFlight.Add(packet with { DeliverAt = Now + delayMicros, Seq = _seq++ });
    }

    /// <summary>Runs until both sides are finished and nothing is in flight, or <paramref name="maxSteps"/> steps.</summary>
    public int Run(int maxSteps = 5_000_000, Func<bool>? until = null)
    {
        for (int step = 0; step < maxSteps; step++)
        {
            Drain();
            if (until?.Invoke() == true)
            {
                return step;
            }

            long nextDelivery = long.MaxValue;
            int index = -1;
            for (int i = 0; i < _inFlight.Count; i++)
            {
                if (_inFlight[i].DeliverAt < nextDelivery || (_inFlight[i].DeliverAt == nextDelivery && _inFlight[i].Seq < _inFlight[index].Seq))
                {
                    nextDelivery = _inFlight[i].DeliverAt;
                    index = i;
                }
            }

            long wake = Math.Min(Client.NextWakeupMicros, Server?.NextWakeupMicros ?? long.MaxValue);
            if (index < 0 && wake == long.MaxValue)
            {
                return step;
            }

            if (index >= 0 && nextDelivery <= wake)
            {
                var p = _inFlight[index];
                _inFlight.RemoveAt(index);
                Now = Math.Max(Now, p.DeliverAt);
                Deliver(p);
            }
            else
            {
                Now = Math.Max(Now, wake);
                Client.HandleTimeout(Now);
                Server?.HandleTimeout(Now);
            }
        }

        throw new InvalidOperationException($"no end after {maxSteps} steps (livelock?)");
    }

    private void Deliver(Packet p)
    {
        if (!p.ToServer)
        {
            Client.HandleDatagram(p.Data, Now);
            return;
        }

        TftpPacketReader.TryReadOpcode(p.Data, out var opcode);
        if (opcode is TftpOpcode.Rrq or TftpOpcode.Wrq)
        {
            RequestsSeenByServer++;
            if (Server is null)
            {
                Assert.Equal(TftpParseError.None, TftpPacketReader.ReadRequest(p.Data, out var request));
                Server = _serverFactory(request!, Now);
            }
            else
            {
                (Server as TftpSender)?.HandleRequestRetransmission(Now);
                (Server as TftpReceiver)?.HandleRequestRetransmission(Now);
            }

            return;
        }

        Server?.HandleDatagram(p.Data, Now);
    }

    private void Drain()
    {
        bool again = true;
        while (again)
        {
            again = false;
            while (Client.TryPollEvent(out var e))
            {
                ClientEvents.Add(e);
            }

            if (Server is not null)
            {
                while (Server.TryPollEvent(out var e))
                {
                    ServerEvents.Add(e);
                    OnServerEvent?.Invoke(Server, e, Now);
                    again = true;
                }
            }

            again |= Transmit(Client, toServer: true);
            if (Server is not null)
            {
                again |= Transmit(Server, toServer: false);
            }
        }
    }

    private bool Transmit(TftpSession session, bool toServer)
    {
        bool any = false;
        int n;
        while ((n = session.PollTransmit(_buffer)) > 0)
        {
            any = true;
            var p = new Packet(toServer, _buffer.AsSpan(0, n).ToArray(), 0, 0);
            Sent.Add(p);
            if (Drop?.Invoke(p) == true || (LossRate > 0 && _rng.NextDouble() < LossRate))
            {
                continue;
            }

            int copies = DuplicateRate > 0 && _rng.NextDouble() < DuplicateRate ? 2 : 1;
            for (int c = 0; c < copies; c++)
            {
                long delay = LatencyMicros + (JitterMicros > 0 ? _rng.NextInt64(JitterMicros) : 0);
                _inFlight.Add(p with { DeliverAt = Now + delay, Seq = _seq++ });
            }
        }

        return any;
    }

    /// <summary>One datagram on the simulated wire.</summary>
    internal sealed record Packet(bool ToServer, byte[] Data, long DeliverAt, long Seq)
    {
        public TftpOpcode Opcode => (TftpOpcode)((Data[0] << 8) | Data[1]);

        public ushort Block => (ushort)((Data[2] << 8) | Data[3]);

        public bool IsData(long block) => Opcode == TftpOpcode.Data && Block == (ushort)block;

        public bool IsAck(long block) => Opcode == TftpOpcode.Ack && Block == (ushort)block;
    }
}
