using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Orleans.Gateway.Auth;

/// <summary>Fails the gateway's start on a bad key, naming the setting, rather than refusing every token later.</summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public const int MinKeyBytes = 32;

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.SigningKeys.Length; i++)
        {
            // An empty entry is no key (see TokenVerifier.SigningKeys).
            if (!string.IsNullOrEmpty(options.SigningKeys[i]) && Encoding.UTF8.GetByteCount(options.SigningKeys[i]) < MinKeyBytes)
            {
                failures.Add($"{AuthOptions.Section}:SigningKeys:{i} must be at least {MinKeyBytes} bytes of UTF-8 (an HS256 key).");
            }
        }

        if (!string.IsNullOrEmpty(options.JwksFile))
        {
            try
            {
                var keys = new JsonWebKeySet(File.ReadAllText(options.JwksFile)).GetSigningKeys();
                if (keys.Count == 0)
                {
                    failures.Add($"{AuthOptions.Section}:JwksFile ({options.JwksFile}) holds no signing key.");
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException)
            {
                failures.Add($"{AuthOptions.Section}:JwksFile ({options.JwksFile}) could not be read as a JSON Web Key Set: {exception.Message}");
            }
        }

        if (options.Mode == AuthMode.Required && !Array.Exists(options.SigningKeys, key => !string.IsNullOrEmpty(key)) && string.IsNullOrEmpty(options.JwksFile))
        {
            failures.Add($"{AuthOptions.Section}:Mode is required, but no key is configured ({AuthOptions.Section}:SigningKeys or {AuthOptions.Section}:JwksFile): nobody could join.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
