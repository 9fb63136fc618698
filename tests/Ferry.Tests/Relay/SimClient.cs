using System.Net;
using Ferry.Protocol.Relay;

namespace Ferry.Tests.Relay;

/// <summary>A relay client in the simulation: its core, address, what it read and what happened to it.</summary>
internal sealed class SimClient(RelayClient client, IPEndPoint endPoint)
{
    public RelayClient Client { get; } = client;

    public IPEndPoint EndPoint { get; } = endPoint;

    /// <summary>When false the application does not take messages (a stalled reader).</summary>
    public bool Reading { get; set; } = true;

    public List<RelayMessage> Received { get; } = new();

    public List<RelayClientEvent> Events { get; } = new();

    public void DrainEvents()
    {
        while (Client.TryPollEvent(out var e))
        {
            Events.Add(e!);
        }
    }

    public void SubmitAll(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            Assert.Equal(RelaySubmitResult.Ok, Client.Submit(line, out _));
        }
    }
}
