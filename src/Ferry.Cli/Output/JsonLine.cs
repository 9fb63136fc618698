using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Ferry.Cli.Output;

/// <summary>
/// Formats one NDJSON event exactly as <c>JsonSerializer.Serialize</c> formats a
/// <c>Dictionary&lt;string, object?&gt;</c> (same writer, same default escaping), without the serializer's
/// reflection: building its metadata for <c>object</c> values JIT-compiles a few hundred methods and emits IL,
/// about 30 ms before a transfer's first packet.
/// </summary>
internal static class JsonLine
{
    public static string Format(IEnumerable<KeyValuePair<string, object?>> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in fields)
            {
                writer.WritePropertyName(name);
                switch (value)
                {
                    case null:
                        writer.WriteNullValue();
                        break;
                    case string s:
                        writer.WriteStringValue(s);
                        break;
                    case long l:
                        writer.WriteNumberValue(l);
                        break;
                    case int i:
                        writer.WriteNumberValue(i);
                        break;
                    case double d when double.IsFinite(d):
                        writer.WriteNumberValue(d);
                        break;
                    case bool b:
                        writer.WriteBooleanValue(b);
                        break;
                    default:
                        // Anything else (none of today's events): the serializer, as before.
                        JsonSerializer.Serialize(writer, value, value.GetType());
                        break;
                }
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
