"""The main job: the seed example, then linear regression on both machines."""

import linear_regression
import seed

if __name__ == "__main__":
    seed.main()
    print()
    linear_regression.main()
