import { UserError } from './errors';
import { checkYesNoSettings, yesNo } from './settings';

describe('yes/no settings', () => {
  it('reads yes and no (any case), and the default when unset or empty', () => {
    expect(yesNo({ DO_PUSH: 'yes' }, 'DO_PUSH')).toBe(true);
    expect(yesNo({ DO_PUSH: 'No' }, 'DO_PUSH')).toBe(false);
    expect(yesNo({}, 'DO_PUSH')).toBe(false);
    expect(yesNo({ HOOK_PULL_IMAGES: '' }, 'HOOK_PULL_IMAGES')).toBe(true);
  });

  it.each([
    ['DO_PUSH', 'maybe'],
    ['DO_PUSH', 'true'],
    ['HOOK_PULL_IMAGES', '0'],
    ['DEBUG', 'on'],
  ])('%s=%s is one line naming the setting and the accepted values', (name, value) => {
    const check = () => checkYesNoSettings({ [name]: value });
    expect(check).toThrow(UserError);
    expect(check).toThrow(new UserError(`${name} is '${value}'; use yes or no`));
  });

  it('passes a clean environment', () => {
    expect(() => checkYesNoSettings({ DO_PUSH: 'no', DEBUG: 'yes', PATH: '/bin' })).not.toThrow();
  });
});
