using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chat.Orleans.Bench.Suite;

/// <summary>
/// What the suite reports: each scenario's results as one JSON line (stdout and results.jsonl) and a table
/// (stdout and report.md), and notes between them (the machine, checks passed or failed, targets met or missed).
/// </summary>
public sealed class ResultLog
{
    private readonly string _directory;

    public ResultLog(string directory)
    {
        _directory = directory;
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(JsonPath, "");
        File.WriteAllText(TablePath, "");
    }

    public string Directory => _directory;

    public string JsonPath => Path.Combine(_directory, "results.jsonl");

    public string TablePath => Path.Combine(_directory, "report.md");

    /// <summary>How many checks failed so far: the suite's exit code says whether any did.</summary>
    public int Failures { get; private set; }

    public void Note(string text)
    {
        Console.WriteLine(text);
        File.AppendAllText(TablePath, text + Environment.NewLine + Environment.NewLine);
    }

    /// <summary>The machine the figures came from, so that a report read later can be compared with another.</summary>
    public void NoteMachine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        var memory = File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Note($"Machine: {Environment.ProcessorCount} cores ({cpu}), {long.Parse(memory, CultureInfo.InvariantCulture) / 1024 / 1024} GiB, " +
            $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, run at {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
    }

    /// <summary>A check of the suite: a failure fails the run.</summary>
    public void Check(bool passed, string what)
    {
        if (!passed)
        {
            Failures++;
        }

        Note($"{(passed ? "PASS" : "FAIL")}: {what}");
    }

    /// <summary>A target of the issue: reported, but a miss does not fail the run (the figure is in the table above the note).</summary>
    public void Target(string what, bool met) => Note($"target {(met ? "MET" : "MISSED")}: {what}");

    public void Write(string scenario, string title, IReadOnlyList<Row> rows, IEnumerable<string>? notes = null)
    {
        var json = JsonSerializer.Serialize(new { scenario, rows }, BenchJson.Options);
        Console.WriteLine(json);
        File.AppendAllText(JsonPath, json + Environment.NewLine);

        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"### {title}").AppendLine();
        var columns = rows.SelectMany(row => row.Keys).Distinct().ToArray();
        table.AppendLine("| " + string.Join(" | ", columns) + " |");
        table.AppendLine("|" + string.Concat(columns.Select(_ => " --- |")));
        foreach (var row in rows)
        {
            table.AppendLine("| " + string.Join(" | ", columns.Select(column => row.TryGetValue(column, out var value) ? Format(value) : "")) + " |");
        }

        foreach (var note in notes ?? [])
        {
            table.AppendLine().AppendLine(note);
        }

        Console.WriteLine(table);
        File.AppendAllText(TablePath, table.AppendLine().ToString());
    }

    private static string Format(object? value) => value switch
    {
        double number when Math.Abs(number) >= 100 => number.ToString("0", CultureInfo.InvariantCulture),
        double number => number.ToString("0.##", CultureInfo.InvariantCulture),
        IDictionary<string, double> cpu => string.Join(" ", cpu.Select(entry => $"{entry.Key} {entry.Value:0}%")),
        null => "",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
