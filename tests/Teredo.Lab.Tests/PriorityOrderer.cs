using Xunit.Abstractions;
using Xunit.Sdk;

namespace Teredo.Lab.Tests;

/// <summary>Runs a class's tests by ascending <see cref="PriorityAttribute"/> (then by name).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PriorityAttribute(int value) : Attribute
{
    public int Value { get; } = value;
}

public sealed class PriorityOrderer : ITestCaseOrderer
{
    public const string TypeName = "Teredo.Lab.Tests.PriorityOrderer";
    public const string AssemblyName = "Teredo.Lab.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases)
        where TTestCase : ITestCase
        => testCases
            .OrderBy(tc => Priority(tc))
            .ThenBy(tc => tc.TestMethod.Method.Name, StringComparer.Ordinal)
            .ThenBy(tc => tc.DisplayName, StringComparer.Ordinal);

    private static int Priority(ITestCase tc)
    {
        var attr = tc.TestMethod.Method.GetCustomAttributes(typeof(PriorityAttribute).AssemblyQualifiedName!).FirstOrDefault();
        return attr is null ? 50 : attr.GetConstructorArguments().OfType<int>().FirstOrDefault(50);
    }
}
