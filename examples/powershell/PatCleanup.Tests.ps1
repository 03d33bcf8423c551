# Pester 5 tests of PAT work against iscmock, to copy into a suite of your own: a create and a list,
# an end user's 403, a scripted 429 that the SDK retries, and a wrong secret explained.
#
# Needs PowerShell 7, Pester 5, PSSailpoint 1.x and the iscmock binary, named by $env:ISCMOCK or
# found on PATH (go install github.com/iscmock/iscmock/cmd/iscmock@latest):
#
#   Install-Module Pester, PSSailpoint -Scope CurrentUser
#   Invoke-Pester ./examples/powershell
#
# iscmock's CI does not run this file: no package registry it reaches serves PowerShell, Pester or
# PSSailpoint. What it relies on was measured with PowerShell 7.6.10, Pester 5.7.1 and PSSailpoint
# 1.7.100; docs/powershell.md says what, and a Go test (docs/docs_test.go) keeps its scenario and
# credentials true to the mock.

BeforeAll {
    # Start the mock on a free port; the first line of its banner ends with the URL it serves.
    $bin = if ($env:ISCMOCK) { $env:ISCMOCK } else { (Get-Command iscmock -ErrorAction Stop).Source }
    $script:banner = (New-TemporaryFile).FullName
    $script:log = (New-TemporaryFile).FullName
    $script:mock = Start-Process -FilePath $bin -ArgumentList 'serve', '--addr', '127.0.0.1:0' -PassThru `
        -RedirectStandardOutput $script:banner -RedirectStandardError $script:log
    $deadline = (Get-Date).AddSeconds(30)
    while (-not ($first = Get-Content $script:banner -TotalCount 1 -ErrorAction SilentlyContinue)) {
        if ($script:mock.HasExited -or (Get-Date) -gt $deadline) {
            throw "iscmock did not start: $(Get-Content $script:log -Raw)"
        }
        Start-Sleep -Milliseconds 50
    }
    $script:base = ($first -split ' ')[-1]

    # PSSailpoint reads these on every call, and asks $env:SAIL_BASE_URL/oauth/token for a token first.
    $env:SAIL_BASE_URL = $script:base
    Import-Module PSSailpoint
    # The SDK retries every 4xx and 5xx ten times, 5 s apart: each expected refusal would take 50 s.
    # 1, not 0 (the SDK ignores 0); a 429 is still retried after its Retry-After.
    Set-DefaultConfiguration -MaximumRetryCount 1 -RetryIntervalSeconds 1

    function Use-Admin {
        # Alice Admin's "CI pipeline", of the mock's default tenant
        $env:SAIL_CLIENT_ID = '86f1dc6fe8f54414950454cbb11278fa'
        $env:SAIL_CLIENT_SECRET = '1d1bef2b9f426383447f64f69349fc7cac176042578d205c256ba3f37c59adb9'
    }
    function Use-EndUser {
        # Bob Builder's "Local development": an end user
        $env:SAIL_CLIENT_ID = '348aa283bdc67879ef654fb8906f6f35'
        $env:SAIL_CLIENT_SECRET = 'f9c1fa39cb546fe1d7417123a7e9139ff21ef5ebaa12ba9b08f7fd4e4b249398'
    }
}

AfterAll {
    if ($script:mock) { Stop-Process -Id $script:mock.Id -ErrorAction SilentlyContinue }
    Remove-Item $script:banner, $script:log -ErrorAction SilentlyContinue
}

Describe 'PAT work against iscmock' {
    BeforeEach {
        # Each test starts from the default tenant, with no scenario and an empty journal.
        Invoke-RestMethod -Method Post -Uri "$script:base/__admin/reset"
        Invoke-RestMethod -Method Delete -Uri "$script:base/__admin/scenario"
        Use-Admin
    }

    It 'lists a new token as never used' {
        $created = New-V2024PersonalAccessToken -CreatePersonalAccessTokenRequest ([pscustomobject]@{ name = 'deploy-bot' })
        $created.secret | Should -Not -BeNullOrEmpty

        $unused = Get-V2024PersonalAccessTokens -OwnerId me -Filters 'lastUsed isnull'
        $unused.name | Should -Be 'deploy-bot'

        Update-V2024PersonalAccessToken -Id $created.id -JsonPatchOperation @(
            [pscustomobject]@{ op = 'replace'; path = '/name'; value = 'deploy-bot-2' })
        (Get-V2024PersonalAccessTokens -OwnerId me).name | Should -Contain 'deploy-bot-2'

        Remove-V2024PersonalAccessToken -Id $created.id
        (Get-V2024PersonalAccessTokens -OwnerId me).name | Should -Not -Contain 'deploy-bot-2'
    }

    It "refuses an end user the whole tenant's tokens" {
        Use-EndUser
        $status = $null
        try {
            Get-V2024PersonalAccessTokens
        } catch {
            $status = $_.Exception.Response.StatusCode.value__
            $body = $_.ErrorDetails.Message | ConvertFrom-Json
        }
        $status | Should -Be 403
        $body.detailCode | Should -Be '403 Forbidden'
        # The mock says why, in the journal (and the Iscmock-Cause header).
        $refused = @(Invoke-RestMethod "$script:base/__admin/requests?status=403")
        $refused[-1].cause | Should -BeLike '*needs idn:all-personal-access-tokens:read*'
        # His own tokens are his to list.
        (Get-V2024PersonalAccessTokens -OwnerId me).name | Should -Contain 'Local development'
    }

    It 'gets through a 429 the SDK retries' {
        $scenario = @'
name: throttle-once
rules:
  - name: throttle-first-list
    match: {operation: listPersonalAccessTokens}
    when: {calls: [1]}
    respond: {status: 429, headers: {Retry-After: "1"}}
'@
        Invoke-RestMethod -Method Put -Uri "$script:base/__admin/scenario" -Body $scenario -ContentType 'application/yaml'

        (Get-V2024PersonalAccessTokens -OwnerId me).name | Should -Contain 'CI pipeline'

        $lists = @(Invoke-RestMethod "$script:base/__admin/requests?operation=listPersonalAccessTokens")
        ($lists.status -join ',') | Should -Be '429,200'
    }

    It 'says why a wrong secret got no token' {
        $env:SAIL_CLIENT_SECRET = 'not-the-secret'
        $status = $null
        try {
            Get-V2024PersonalAccessTokens -OwnerId me
        } catch {
            $status = $_.Exception.Response.StatusCode.value__
        }
        $status | Should -Be 401
        # The SDK went on with "Bearer " and nothing after it; the 401's cause names the refused token request.
        $refused = @(Invoke-RestMethod "$script:base/__admin/requests?status=401&operation=listPersonalAccessTokens")
        $refused[-1].cause | Should -BeLike '*the token request from this address*the client_secret is not client_id 86f1dc6fe8f54414950454cbb11278fa*'
    }
}
