namespace Chat.Orleans.Tests.Infrastructure;

public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Chat.Orleans.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Chat.Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}
