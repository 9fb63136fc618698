using System.Text;
using System.Threading.Channels;

namespace Ferry.Cli.Output;

/// <summary>
/// The interactive terminal of <c>ferry chat</c>: an input line at the bottom that stays intact while messages
/// arrive above it (plain ANSI: erase the input, print, redraw the prompt and what was typed so far). An input longer
/// than the terminal is wide wraps over several rows; erasing moves up over all of them first.
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
    }

    /// <summary>Prints a line above the input line.</summary>
    public void WriteLine(string text)
    {
        lock (_lock)
        {
            Console.Out.Write(EraseInput());
            Console.Out.WriteLine(text);
            Console.Out.Write(Prompt + _input);
            Console.Out.Flush();
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            Console.Out.Write(EraseInput());
            Console.Out.Flush();
        }
    }

    private void Redraw()
    {
        lock (_lock)
        {
            Console.Out.Write(EraseInput() + Prompt + _input);
            Console.Out.Flush();
        }
    }

    /// <summary>
    /// Terminal columns <paramref name="text"/> takes: 2 for East Asian wide characters and most emoji, 0 for combining
    /// marks and format characters, 1 otherwise (an approximation of wcwidth that is right for the common cases).
    /// </summary>
    internal static int DisplayWidth(string text)
    {
        int width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.EnclosingMark
                or System.Globalization.UnicodeCategory.Format)
            {
                continue;
            }

            int v = rune.Value;
            bool wide = v is (>= 0x1100 and <= 0x115F) or (>= 0x2E80 and <= 0xA4CF) or (>= 0xAC00 and <= 0xD7A3) or (>= 0xF900 and <= 0xFAFF)
                or (>= 0xFE30 and <= 0xFE4F) or (>= 0xFF00 and <= 0xFF60) or (>= 0xFFE0 and <= 0xFFE6) or (>= 0x1F300 and <= 0x1FAFF)
                or (>= 0x20000 and <= 0x3FFFD);
            width += wide ? 2 : 1;
        }

        return width;
    }

    /// <summary>
    /// The escape sequence that erases the prompt and input when the cursor sits at the input's end: up over the rows the
    /// input wrapped onto, to column 0, clear to the end of the screen.
    /// </summary>
    internal static string EraseSequence(int inputColumns, int terminalWidth)
    {
        // The cursor is on row (columns - 1) / width: a terminal keeps it on the last column after filling a row exactly.
        int rowsUp = terminalWidth > 0 && inputColumns > 0 ? (inputColumns - 1) / terminalWidth : 0;
        return rowsUp > 0 ? $"\r\u001b[{rowsUp}A\u001b[J" : "\r\u001b[J";
    }

    private string EraseInput() => EraseSequence(DisplayWidth(Prompt) + DisplayWidth(_input.ToString()), TerminalWidth());

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private void ReadKeys()
    {
        // Set the terminal up for key reading before showing the prompt: keys typed before that may be discarded by the
        // terminal switch, so the prompt appears only once typing is safe.
        try
        {
            _ = Console.KeyAvailable;
        }
        catch (InvalidOperationException)
        {
        }

        Redraw();
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
                    Console.Out.Write(EraseInput() + Prompt);
                    _input.Clear();
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
                        string erase = EraseInput();
                        _input.Length -= cut;
                        Console.Out.Write(erase + Prompt + _input);
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
                    Console.Out.Write(EraseInput() + Prompt);
                    _input.Clear();
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
