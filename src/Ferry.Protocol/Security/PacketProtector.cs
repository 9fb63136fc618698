using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ferry.Protocol.Security;

/// <summary>
/// AES-256-GCM protection (through <see cref="AeadCiphers"/>) of one direction of a secure channel. The nonce is the epoch IV XOR the 64-bit packet
/// number, so it never repeats as long as packet numbers never repeat (the protocols guarantee that). Keys change
/// every 2^<see cref="EpochBits"/> packets, well under the AES-GCM confidentiality limit of 2^23 full-size packets
/// per key (RFC 9001, section 6.6); each epoch's secret is derived from the previous one, and the previous one is
/// forgotten, so an epoch's key does not reveal earlier traffic. The epoch follows from the packet number: no key
/// phase bit, no update handshake.
/// </summary>
public sealed class PacketProtector : IDisposable
{
    public const int TagSize = 16;

    /// <summary>Default epoch length: 2^22 packets (about 6 GB of 1452-byte datagrams).</summary>
    public const int DefaultEpochBits = 22;

    /// <summary>A receiver derives at most this many epochs past the newest authenticated one (bounds the work a forged packet number causes).</summary>
    private const int MaxEpochsAhead = 2;

    private readonly int _epochBits;
    private byte[] _currentSecret;
    private ulong _authenticatedEpoch;
    private Slot _current;
    private Slot _previous;
    private Slot _next;

    /// <param name="secret">The epoch-0 traffic secret of this direction (copied).</param>
    /// <param name="epochBits">Packets per key epoch as a power of two (tests use small values to exercise key updates).</param>
    public PacketProtector(ReadOnlySpan<byte> secret, int epochBits = DefaultEpochBits)
    {
        if (epochBits is < 1 or > 40)
        {
            throw new ArgumentOutOfRangeException(nameof(epochBits));
        }

        _epochBits = epochBits;
        _currentSecret = secret.ToArray();
        _current = Slot.Create(_currentSecret, 0);
    }

    /// <summary>Packets that failed authentication (forged, corrupted, or too old).</summary>
    public long FailedOpens { get; private set; }

    /// <summary>Key epochs entered so far (0 until the first key update).</summary>
    public ulong Epoch => _current.Epoch;

    /// <summary>Encrypts <paramref name="payload"/> in place and writes the tag; <paramref name="aad"/> is authenticated, not encrypted.</summary>
    public void Seal(ulong packetNumber, ReadOnlySpan<byte> aad, Span<byte> payload, Span<byte> tag)
    {
        ulong epoch = packetNumber >> _epochBits;
        if (epoch != _current.Epoch)
        {
            if (epoch < _current.Epoch)
            {
                throw new InvalidOperationException("packet numbers must not go back across a key epoch");
            }

            Advance(epoch);
        }

        Span<byte> nonce = stackalloc byte[KeySchedule.IvSize];
        _current.Nonce(packetNumber, nonce);
        _current.Aead!.Encrypt(nonce, payload, payload, tag[..TagSize], aad);
    }

    /// <summary>Authenticates and decrypts <paramref name="payload"/> in place. False when it does not authenticate; the payload bytes are then undefined (drop the datagram).</summary>
    public bool TryOpen(ulong packetNumber, ReadOnlySpan<byte> aad, Span<byte> payload, ReadOnlySpan<byte> tag) =>
        TryOpen(packetNumber, aad, payload, tag, payload);

    /// <summary>Authenticates <paramref name="ciphertext"/> and decrypts it into <paramref name="plaintext"/> (same length; may be the same memory).</summary>
    public bool TryOpen(ulong packetNumber, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        if (tag.Length != TagSize)
        {
            FailedOpens++;
            return false;
        }

        ulong epoch = packetNumber >> _epochBits;
        Slot slot;
        if (epoch == _current.Epoch)
        {
            slot = _current;
        }
        else if (_previous.Aead is not null && epoch == _previous.Epoch)
        {
            slot = _previous;
        }
        else if (epoch > _current.Epoch && epoch <= _authenticatedEpoch + MaxEpochsAhead)
        {
            slot = Candidate(epoch);
        }
        else
        {
            FailedOpens++;
            return false;
        }

        Span<byte> nonce = stackalloc byte[KeySchedule.IvSize];
        slot.Nonce(packetNumber, nonce);
        if (!slot.Aead!.TryDecrypt(nonce, ciphertext, tag, plaintext[..ciphertext.Length], aad))
        {
            FailedOpens++;
            return false;
        }

        if (epoch > _current.Epoch)
        {
            // Authenticated traffic of a later epoch: move on and forget older keys.
            Advance(epoch);
        }

        _authenticatedEpoch = Math.Max(_authenticatedEpoch, epoch);
        return true;
    }

    public void Dispose()
    {
        _current.Aead?.Dispose();
        _previous.Aead?.Dispose();
        _next.Aead?.Dispose();
        CryptographicOperations.ZeroMemory(_currentSecret);
    }

    /// <summary>Keys for a later epoch without committing to it (a forged packet must not move the receiver).</summary>
    private Slot Candidate(ulong epoch)
    {
        if (_next.Aead is not null && _next.Epoch == epoch)
        {
            return _next;
        }

        _next.Aead?.Dispose();
        var secret = SecretFor(epoch);
        _next = Slot.Create(secret, epoch);
        CryptographicOperations.ZeroMemory(secret);
        return _next;
    }

    private void Advance(ulong epoch)
    {
        var secret = SecretFor(epoch);
        Slot slot;
        if (_next.Aead is not null && _next.Epoch == epoch)
        {
            slot = _next;
        }
        else
        {
            _next.Aead?.Dispose();
            slot = Slot.Create(secret, epoch);
        }

        _next = default;
        _previous.Aead?.Dispose();
        if (epoch == _current.Epoch + 1)
        {
            _previous = _current; // kept for packets of the old epoch still in flight
        }
        else
        {
            _previous = default;
            _current.Aead?.Dispose();
        }

        _current = slot;
        CryptographicOperations.ZeroMemory(_currentSecret);
        _currentSecret = secret;
    }

    /// <summary>The secret of a later epoch, derived from the current one (a short chain: at most a few steps).</summary>
    private byte[] SecretFor(ulong epoch)
    {
        var secret = (byte[])_currentSecret.Clone();
        for (ulong e = _current.Epoch; e < epoch; e++)
        {
            var next = KeySchedule.NextSecret(secret);
            CryptographicOperations.ZeroMemory(secret);
            secret = next;
        }

        return secret;
    }

    private struct Slot
    {
        public ulong Epoch;
        public IAeadCipher? Aead;
        private ulong _ivHigh;
        private ulong _ivLow; // the last 8 bytes of the 12-byte IV (the first 4 are in _ivHigh's low 32 bits)

        public static Slot Create(ReadOnlySpan<byte> secret, ulong epoch)
        {
            Span<byte> key = stackalloc byte[KeySchedule.KeySize];
            Span<byte> iv = stackalloc byte[KeySchedule.IvSize];
            KeySchedule.PacketKey(secret, key, iv);
            var slot = new Slot
            {
                Epoch = epoch,
                Aead = AeadCiphers.Create(key),
                _ivHigh = BinaryPrimitives.ReadUInt32BigEndian(iv),
                _ivLow = BinaryPrimitives.ReadUInt64BigEndian(iv[4..]),
            };
            CryptographicOperations.ZeroMemory(key);
            return slot;
        }

        public readonly void Nonce(ulong packetNumber, Span<byte> nonce)
        {
            BinaryPrimitives.WriteUInt32BigEndian(nonce, (uint)_ivHigh);
            BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], _ivLow ^ packetNumber);
        }
    }
}
