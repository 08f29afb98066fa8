// `npm run deploy` (scripts/deploy.ts): the parts that need no AWS account. scripts/cdk.sh also runs
// the command itself here, where it must stop at the first AWS call with a clear message.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import { cdkDeployArgs, contextOf, DeployError, newPassword, nextSteps, readOutputs } from '../scripts/deploy';

describe('npm run deploy', () => {
  test('context is read from -c, --context and --context=', () => {
    assert.deepEqual(contextOf(['-c', 'region=eu-west-1', '--context', 'architecture=arm64', '--context=stackName=Api', '--all']), {
      region: 'eu-west-1',
      architecture: 'arm64',
      stackName: 'Api',
    });
  });

  test('cdk deploy: the region as context, no prompts only when CI is set, the outputs file', () => {
    const local = cdkDeployArgs('Randapi', 'eu-west-1', [], {});
    assert.deepEqual(local.slice(0, 3), ['cdk', 'deploy', 'Randapi']);
    assert.ok(local.includes('--outputs-file'));
    assert.deepEqual(local.slice(-2), ['-c', 'region=eu-west-1']);
    assert.ok(!local.includes('--require-approval'), 'a person at a terminal is asked');
    for (const ci of ['true', '1', 'yes']) {
      const args = cdkDeployArgs('Randapi', 'eu-west-1', [], { CI: ci });
      assert.deepEqual(args.slice(args.indexOf('--require-approval'), args.indexOf('--require-approval') + 2), ['--require-approval', 'never']);
    }
    for (const ci of ['', 'false', '0']) {
      assert.ok(!cdkDeployArgs('Randapi', 'eu-west-1', [], { CI: ci }).includes('--require-approval'), `CI=${ci}`);
    }
    const own = cdkDeployArgs('Randapi', 'eu-west-1', ['-c', 'region=us-east-1', '-c', 'architecture=arm64'], { CI: 'true' });
    assert.equal(own.filter((a) => a.startsWith('region=')).length, 1, 'the given region wins');
    assert.deepEqual(own.slice(-4), ['-c', 'region=us-east-1', '-c', 'architecture=arm64']);
  });

  test('the last lines: make a user, get a token, the curl line, from the stack outputs', () => {
    const text = nextSteps(
      {
        ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
        UserPoolId: 'eu-west-1_AbCdEf123',
        UserPoolClientId: '1example23456789',
        Region: 'eu-west-1',
      },
      'Ra-pass-7x',
    );
    const lines = text.split('\n').map((l) => l.trim());
    const make = lines.find((l) => l.startsWith('aws cognito-idp admin-create-user'));
    assert.ok(make?.includes('--user-pool-id eu-west-1_AbCdEf123') && make.includes('&& aws cognito-idp admin-set-user-password'), make);
    assert.ok(make?.includes('--permanent'));
    const token = lines.find((l) => l.startsWith('TOKEN=$(aws cognito-idp initiate-auth'));
    assert.ok(token?.includes('--client-id 1example23456789') && token.includes('--auth-flow USER_PASSWORD_AUTH'), token);
    assert.ok(token?.includes('--query AuthenticationResult.AccessToken'), 'the access token, not the ID token');
    assert.ok(lines.includes('curl -H "Authorization: Bearer $TOKEN" https://abc123.execute-api.eu-west-1.amazonaws.com/'));
    assert.ok(lines.includes("USERNAME=you@example.com PASSWORD='Ra-pass-7x'"));
    assert.throws(() => nextSteps({ ApiUrl: 'x' }), DeployError);
  });

  test('a generated password meets the pool policy (12+, upper, lower, digit, symbol)', () => {
    for (let i = 0; i < 50; i++) {
      const p = newPassword();
      assert.ok(p.length >= 12 && /[A-Z]/.test(p) && /[a-z]/.test(p) && /\d/.test(p) && /[^A-Za-z0-9]/.test(p), p);
    }
  });

  test('outputs are read for the deployed stack', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'randapi-deploy-')), 'outputs.json');
    fs.writeFileSync(file, JSON.stringify({ Randapi: { ApiUrl: 'u' } }));
    assert.deepEqual(readOutputs(file, 'Randapi'), { ApiUrl: 'u' });
    assert.throws(() => readOutputs(file, 'Other'), /no outputs for stack Other/);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
