namespace Ferry.Protocol.Security;

/// <summary>The two directions of an established secure channel, from one side's point of view.</summary>
public sealed class SessionKeys : IDisposable
{
    public SessionKeys(PacketProtector send, PacketProtector receive)
    {
        Send = send;
        Receive = receive;
    }

    /// <summary>Protects what this side sends.</summary>
    public PacketProtector Send { get; }

    /// <summary>Opens what the peer sent.</summary>
    public PacketProtector Receive { get; }

    public void Dispose()
    {
        Send.Dispose();
        Receive.Dispose();
    }

    /// <summary>Builds the keys of one side from the two epoch-0 traffic secrets.</summary>
    public static SessionKeys For(bool isClient, byte[] clientToServer, byte[] serverToClient, int epochBits)
    {
        var c2s = new PacketProtector(clientToServer, epochBits);
        var s2c = new PacketProtector(serverToClient, epochBits);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(clientToServer);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(serverToClient);
        return isClient ? new SessionKeys(c2s, s2c) : new SessionKeys(s2c, c2s);
    }
}
