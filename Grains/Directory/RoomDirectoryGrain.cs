using Microsoft.Extensions.Options;

namespace Chat.Orleans.Grains.Directory;

/// <summary>
/// The rooms directory: the latest report of each silo, merged on request. A room that moved may be in
/// two silos' reports for one period; the larger count stands.
/// </summary>
public sealed class RoomDirectoryGrain(IOptions<DirectoryOptions> options) : Grain, IRoomDirectoryGrain
{
    private readonly Dictionary<string, (long At, RoomCount[] Rooms)> _reports = [];

    public Task Report(string silo, RoomCount[] rooms)
    {
        _reports[silo] = (Environment.TickCount64, rooms);
        return Task.CompletedTask;
    }

    public Task<RoomCount[]> List(int limit)
    {
        var lapsed = Environment.TickCount64 - (long)options.Value.ReportLifetime.TotalMilliseconds;
        var merged = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (silo, (at, rooms)) in _reports.ToArray())
        {
            if (at < lapsed)
            {
                _reports.Remove(silo);
                continue;
            }

            foreach (var room in rooms)
            {
                merged[room.Room] = Math.Max(room.Members, merged.GetValueOrDefault(room.Room));
            }
        }

        RoomCount[] busiest = [.. merged
            .OrderByDescending(room => room.Value)
            .ThenBy(room => room.Key, StringComparer.Ordinal)
            .Take(limit)
            .Select(room => new RoomCount(room.Key, room.Value))];
        return Task.FromResult(busiest);
    }
}
