namespace Teredo.Tests.Support;

/// <summary>A scratch folder for configuration files, deleted with the test class.</summary>
public sealed class TempDirectory : IDisposable
{
    private readonly string _path = Directory.CreateTempSubdirectory("teredo-test-").FullName;

    public string FullPath => _path;

    /// <summary>Writes <paramref name="text"/> to a file of that name in the folder and returns its path.</summary>
    public string Write(string name, string text)
    {
        string path = Path.Combine(_path, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => Directory.Delete(_path, recursive: true);
}
