using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat.Orleans.Gateway.Rooms;

/// <summary>
/// Private room ids: 128 random bits from a CSPRNG followed by a 128-bit HMAC of them, 64 lowercase hex
/// digits in all. Any gateway holding the shared key can tell an id it minted from a forged one without
/// storing anything.
/// </summary>
public sealed class RoomIds(IOptions<ChatGatewayOptions> options, NpgsqlDataSource dataSource)
{
    private const int HalfLength = 16;
    private const string KeyName = "room-id-key";

    private readonly Lock _keyLock = new();
    private Task<byte[]>? _key;

    public static bool IsPrivateRoomId(ReadOnlySpan<char> name) => RoomKeys.IsPrivate(name);

    public async Task<string> MintAsync(CancellationToken cancellationToken)
    {
        var key = await GetKeyAsync(cancellationToken);
        Span<byte> id = stackalloc byte[HalfLength * 2];
        RandomNumberGenerator.Fill(id[..HalfLength]);
        Sign(key, id[..HalfLength], id[HalfLength..]);
        return Convert.ToHexStringLower(id);
    }

    public async Task<bool> IsMintedAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsPrivateRoomId(id))
        {
            return false;
        }

        var key = await GetKeyAsync(cancellationToken);
        var bytes = Convert.FromHexString(id);
        Span<byte> expected = stackalloc byte[HalfLength];
        Sign(key, bytes.AsSpan(0, HalfLength), expected);
        return CryptographicOperations.FixedTimeEquals(expected, bytes.AsSpan(HalfLength));
    }

    private static void Sign(byte[] key, ReadOnlySpan<byte> random, Span<byte> signature)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, random, mac);
        mac[..HalfLength].CopyTo(signature);
    }

    private Task<byte[]> GetKeyAsync(CancellationToken cancellationToken)
    {
        lock (_keyLock)
        {
            // A failed load (database down) is forgotten so that the next request tries again.
            if (_key is null || _key.IsFaulted || _key.IsCanceled)
            {
                _key = LoadKeyAsync(cancellationToken);
            }

            return _key;
        }
    }

    private async Task<byte[]> LoadKeyAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(options.Value.RoomIdKey))
        {
            return Convert.FromBase64String(options.Value.RoomIdKey);
        }

        // The first gateway to ask creates the key; every other one, now or later, reads the same row.
        await using var command = dataSource.CreateCommand("""
            INSERT INTO chat_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING;
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = KeyName });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = RandomNumberGenerator.GetBytes(32) });
        await command.ExecuteNonQueryAsync(cancellationToken);

        await using var select = dataSource.CreateCommand("SELECT value FROM chat_secrets WHERE name = $1");
        select.Parameters.Add(new NpgsqlParameter<string> { TypedValue = KeyName });
        return (byte[])(await select.ExecuteScalarAsync(cancellationToken))!;
    }
}
