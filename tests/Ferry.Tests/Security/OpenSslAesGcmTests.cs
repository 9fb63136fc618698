using System.Security.Cryptography;
using Ferry.Protocol.Security;
using Ferry.Security;

namespace Ferry.Tests.Security;

/// <summary>
/// The direct OpenSSL AES-256-GCM must be byte-for-byte .NET's <see cref="AesGcm"/> (the wire format depends on it),
/// reject every forgery, and work in place as <see cref="PacketProtector"/> uses it.
/// </summary>
public class OpenSslAesGcmTests
{
    private static IAeadCipher Direct(byte[] key) =>
        OpenSslAesGcm.TryCreate(key) ?? throw new InvalidOperationException("libcrypto.so.3 is part of this machine's .NET dependencies and must load");

    [Fact]
    public void Matches_AesGcm_on_random_messages_and_nist_vector()
    {
        var rng = new Random(20261121);
        for (int i = 0; i < 300; i++)
        {
            var key = new byte[32];
            var nonce = new byte[12];
            rng.NextBytes(key);
            rng.NextBytes(nonce);
            int length = i < 40 ? i : rng.Next(0, 4000);
            var plain = new byte[length];
            var aad = new byte[rng.Next(0, 64)];
            rng.NextBytes(plain);
            rng.NextBytes(aad);

            using var reference = new AesGcm(key, 16);
            using var direct = Direct(key);
            var expected = new byte[length];
            var expectedTag = new byte[16];
            reference.Encrypt(nonce, plain, expected, expectedTag, aad);
            var actual = new byte[length];
            var tag = new byte[16];
            direct.Encrypt(nonce, plain, actual, tag, aad);
            Assert.Equal(expected, actual);
            Assert.Equal(expectedTag, tag);

            var opened = new byte[length];
            Assert.True(direct.TryDecrypt(nonce, actual, tag, opened, aad));
            Assert.Equal(plain, opened);
        }

        // NIST GCM test vector (gcmEncryptExtIV256.rsp, Count 0 of Keylen 256 / PTlen 128 / AADlen 0 / Taglen 128).
        var k = Convert.FromHexString("31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22");
        var iv = Convert.FromHexString("0d18e06c7c725ac9e362e1ce");
        var pt = Convert.FromHexString("2db5168e932556f8089a0622981d017d");
        using var cipher = Direct(k);
        var ct = new byte[16];
        var t = new byte[16];
        cipher.Encrypt(iv, pt, ct, t, ReadOnlySpan<byte>.Empty);
        Assert.Equal("fa4362189661d163fcd6a56d8bf0405a", Convert.ToHexStringLower(ct));
        Assert.Equal("d636ac1bbedd5cc3ee727dc2ab4a9489", Convert.ToHexStringLower(t));
    }

    [Fact]
    public void Rejects_any_flipped_bit_of_ciphertext_tag_or_aad_and_works_in_place()
    {
        var key = new byte[32];
        var nonce = new byte[12];
        new Random(7).NextBytes(key);
        var plain = new byte[1421];
        var aad = new byte[31];
        new Random(8).NextBytes(plain);
        new Random(9).NextBytes(aad);
        using var cipher = Direct(key);
        var buffer = (byte[])plain.Clone();
        var tag = new byte[16];
        cipher.Encrypt(nonce, buffer, buffer, tag, aad); // in place, as PacketProtector seals
        Assert.NotEqual(plain, buffer);
        var scratch = new byte[buffer.Length];
        foreach (int bit in new[] { 0, 7, 8 * 700 + 3, 8 * 1420 + 7 })
        {
            var forged = (byte[])buffer.Clone();
            forged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(cipher.TryDecrypt(nonce, forged, tag, scratch, aad));
        }

        for (int i = 0; i < 16; i++)
        {
            var forgedTag = (byte[])tag.Clone();
            forgedTag[i] ^= 0x80;
            Assert.False(cipher.TryDecrypt(nonce, buffer, forgedTag, scratch, aad));
        }

        var forgedAad = (byte[])aad.Clone();
        forgedAad[30] ^= 1;
        Assert.False(cipher.TryDecrypt(nonce, buffer, tag, scratch, forgedAad));
        var otherNonce = (byte[])nonce.Clone();
        otherNonce[11] ^= 1;
        Assert.False(cipher.TryDecrypt(otherNonce, buffer, tag, scratch, aad));

        // After failures the context still opens the genuine packet, in place.
        Assert.True(cipher.TryDecrypt(nonce, buffer, tag, buffer, aad));
        Assert.Equal(plain, buffer);
    }

    [Fact]
    public void Protectors_built_on_either_implementation_interoperate()
    {
        var secret = new byte[32];
        new Random(3).NextBytes(secret);
        Assert.True(OpenSslAesGcm.TryInstall());
        Assert.Equal("OpenSSL EVP (direct)", AeadCiphers.Implementation);
        using var sealer = new PacketProtector(secret, epochBits: 3); // key updates every 8 packets
        var aad = new byte[] { 1, 2, 3 };
        var rng = new Random(4);
        for (ulong pn = 0; pn < 40; pn++)
        {
            var payload = new byte[rng.Next(1, 1452)];
            rng.NextBytes(payload);
            var sealedCopy = (byte[])payload.Clone();
            var tag = new byte[16];
            sealer.Seal(pn, aad, sealedCopy, tag);

            // The managed AesGcm with the same key schedule opens it.
            var key = new byte[KeySchedule.KeySize];
            var iv = new byte[KeySchedule.IvSize];
            var epochSecret = (byte[])secret.Clone();
            for (ulong e = 0; e < pn >> 3; e++)
            {
                epochSecret = KeySchedule.NextSecret(epochSecret);
            }

            KeySchedule.PacketKey(epochSecret, key, iv);
            for (int i = 0; i < 8; i++)
            {
                iv[4 + i] ^= (byte)(pn >> (56 - 8 * i));
            }

            using var managed = new AeadCiphers.ManagedAesGcm(key);
            var opened = new byte[payload.Length];
            Assert.True(managed.TryDecrypt(iv, sealedCopy, tag, opened, aad));
            Assert.Equal(payload, opened);
        }
    }

    [Fact]
    public void A_disposed_cipher_refuses_work_and_disposing_twice_is_harmless()
    {
        var cipher = Direct(new byte[32]);
        cipher.Dispose();
        cipher.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cipher.Encrypt(new byte[12], new byte[4], new byte[4], new byte[16], ReadOnlySpan<byte>.Empty));
        Assert.Throws<ObjectDisposedException>(() => cipher.TryDecrypt(new byte[12], new byte[4], new byte[16], new byte[4], ReadOnlySpan<byte>.Empty));
    }
}
