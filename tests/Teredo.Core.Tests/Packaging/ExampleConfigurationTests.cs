using Teredo.Hosting.Configuration;

namespace Teredo.Tests.Packaging;

/// <summary>
/// The examples the package ships (packaging/examples/ROLE.conf): every line a comment, so a copied file
/// does nothing until edited, and every commented directive one its role knows, so uncommenting works.
/// </summary>
public class ExampleConfigurationTests
{
    public static TheoryData<string> Roles => ["server", "relay", "client", "coordinator", "v4peer", "v6peer", "nat64"];

    private static IReadOnlySet<string> Known(string role) => role switch
    {
        "server" => ServerConfiguration.Known,
        "relay" => RelayConfiguration.Known,
        "client" => ClientConfiguration.Known,
        "coordinator" => CoordinatorConfiguration.Known,
        "v4peer" => V4PeerConfiguration.Known,
        "v6peer" => Ipv6PeerConfiguration.Known,
        "nat64" => Nat64Configuration.Known,
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    [Theory]
    [MemberData(nameof(Roles))]
    public void The_example_is_all_comments_and_names_only_known_directives(string role)
    {
        Assert.NotNull(RepositoryFiles.Root);
        string path = Path.Combine(RepositoryFiles.Root, "packaging", "examples", role + ".conf");
        int directives = 0;
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            Assert.True(line.StartsWith('#'), $"{path}: '{line}' is not commented out");
            // "#Name value" (no space after '#') is a directive to uncomment; "# text" is prose.
            if (line.Length > 1 && char.IsAsciiLetter(line[1]))
            {
                string name = line[1..].Split([' ', '\t'], 2)[0];
                Assert.True(Known(role).Contains(name), $"{path}: '{name}' is not a {role} directive");
                directives++;
            }
        }
        Assert.True(directives >= 3, $"{path}: only {directives} example directives");
        Assert.Contains(role == "nat64" ? "metrics" : "Metrics", File.ReadAllText(path));
    }
}
