namespace Chat.Orleans.Gateway.Auth;

/// <summary>
/// <c>Chat.Orleans.Gateway token --user alice [--name Alice] [--role moderator|admin|publisher]
/// [--rooms a,b] [--minutes 60]</c>: prints a token signed with the first of <c>Chat:Auth:SigningKeys</c>
/// (from the same settings the gateway reads), so that a newcomer can try sign-in and moderation locally.
/// </summary>
public static class TokenCommand
{
    public static int Run(string[] args, IConfiguration configuration)
    {
        var options = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        var auth = new AuthOptions();
        configuration.GetSection(AuthOptions.Section).Bind(auth);
        if (!options.TryGetValue("user", out var user) || auth.SigningKeys.Length == 0 || string.IsNullOrEmpty(auth.SigningKeys[0]))
        {
            Console.Error.WriteLine("usage: token --user ID [--name NAME] [--role moderator|admin|publisher] [--rooms a,b] [--minutes 60]");
            Console.Error.WriteLine($"  signs with {AuthOptions.Section}:SigningKeys:0 (environment Chat__Auth__SigningKeys__0){(auth.SigningKeys.Length == 0 ? ", which is not set" : "")}");
            return 2;
        }

        var minutes = options.TryGetValue("minutes", out var text) && int.TryParse(text, out var value) ? value : 60;
        var request = new TokenRequest(
            user,
            options.GetValueOrDefault("name"),
            options.GetValueOrDefault("role"),
            options.TryGetValue("rooms", out var rooms) ? rooms.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null,
            TimeSpan.FromMinutes(minutes),
            auth.Issuer,
            auth.Audience);
        Console.WriteLine(TokenMinter.Mint(auth.SigningKeys[0], request));
        return 0;
    }
}
