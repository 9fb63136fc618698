using System.Text;
using System.Threading.Channels;

namespace Ferry.Cli.Output;

/// <summary>
/// The interactive terminal of <c>ferry chat</c>: an input line at the bottom that stays intact while messages
/// arrive above it (plain ANSI: clear the line, print, redraw the prompt and what was typed so far).
/// </summary>
internal sealed class ChatConsole
{
    private const string Prompt = "> ";
    private readonly object _lock = new();
    private readonly StringBuilder _input = new();
    private readonly Channel<string?> _lines = Channel.CreateUnbounded<string?>();

    /// <summary>Typed lines; null when the user pressed Ctrl+D on an empty line.</summary>
    public ChannelReader<string?> Lines => _lines.Reader;

    public void Start()
    {
        var thread = new Thread(ReadKeys) { IsBackground = true, Name = "chat-input" };
        thread.Start();
        Redraw();
    }

    /// <summary>Prints a line above the input line.</summary>
    public void WriteLine(string text)
    {
        lock (_lock)
        {
            Console.Out.Write("\r\u001b[2K");
            Console.Out.WriteLine(text);
            Console.Out.Write(Prompt + _input);
            Console.Out.Flush();
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            Console.Out.Write("\r\u001b[2K");
            Console.Out.Flush();
        }
    }

    private void Redraw()
    {
        lock (_lock)
        {
            Console.Out.Write("\r\u001b[2K" + Prompt + _input);
            Console.Out.Flush();
        }
    }

    private void ReadKeys()
    {
        while (true)
        {
            ConsoleKeyInfo key;
            try
            {
                key = Console.ReadKey(intercept: true);
            }
            catch (InvalidOperationException)
            {
                _lines.Writer.TryWrite(null);
                return;
            }

            lock (_lock)
            {
                if (key.Key == ConsoleKey.Enter)
                {
                    string line = _input.ToString();
                    _input.Clear();
                    Console.Out.Write("\r\u001b[2K" + Prompt);
                    Console.Out.Flush();
                    if (line.Length > 0)
                    {
                        _lines.Writer.TryWrite(line);
                    }
                }
                else if (key.Key == ConsoleKey.Backspace)
                {
                    if (_input.Length > 0)
                    {
                        // Remove a whole surrogate pair, not half of it.
                        int cut = _input.Length >= 2 && char.IsLowSurrogate(_input[^1]) ? 2 : 1;
                        _input.Length -= cut;
                        Console.Out.Write("\r\u001b[2K" + Prompt + _input);
                        Console.Out.Flush();
                    }
                }
                else if (key.KeyChar == '\u0004' && _input.Length == 0)
                {
                    _lines.Writer.TryWrite(null);
                    return;
                }
                else if (key.KeyChar == '\u0015')
                {
                    // Ctrl+U: clear the line.
                    _input.Clear();
                    Console.Out.Write("\r\u001b[2K" + Prompt);
                    Console.Out.Flush();
                }
                else if (!char.IsControl(key.KeyChar) && key.KeyChar != '\0')
                {
                    _input.Append(key.KeyChar);
                    Console.Out.Write(key.KeyChar);
                    Console.Out.Flush();
                }
            }
        }
    }
}
