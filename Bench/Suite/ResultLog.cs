using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Chat.Orleans.Bench.Suite;

/// <summary>Each scenario's results: one JSON line (stdout and results.jsonl) and a table (stdout and report.md).</summary>
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

    public void Note(string text)
    {
        Console.WriteLine(text);
        File.AppendAllText(TablePath, text + Environment.NewLine + Environment.NewLine);
    }

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

/// <summary>One row of a scenario's table, in column order; the JSON line has the same fields.</summary>
public sealed class Row : Dictionary<string, object?>;
